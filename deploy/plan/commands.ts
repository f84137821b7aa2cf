// Shared shapes of gcloud commands: project flag, JSON describes, and IAM bindings on any resource that has a policy.
import type { Argv, Resolve, Resource } from "./types.ts";

/** A command scoped to the project; mutating commands also get --quiet so they never prompt. */
export interface Gcloud {
  project: string;
  region: string;
  /** A read: `--format=json` unless the arguments name a format. */
  read(...args: string[]): Argv;
  /** A change: never prompts. */
  write(...args: string[]): Argv;
}

export function gcloud(project: string, region: string): Gcloud {
  const scoped = (args: string[]) => [...args, `--project=${project}`];
  return {
    project,
    region,
    read: (...args) =>
      scoped(args.some((a) => a.startsWith("--format=")) ? args : [...args, "--format=json"]),
    write: (...args) => [...scoped(args), "--quiet"],
  };
}

/** An IAM condition on a binding: its title names it in the policy. */
export interface Condition {
  title: string;
  expression: string;
}

/** gcloud's --condition value: None for an unconditional binding (the project may hold conditional ones). */
const conditionFlag = (c?: Condition): string =>
  c ? `--condition=expression=${c.expression},title=${c.title}` : "--condition=None";

/** Where a binding lives: the commands that read, add to and remove from one resource's IAM policy. */
export interface PolicyTarget {
  /** Resource key the policy belongs to, or "project". */
  key: string;
  describe: Argv;
  add(member: string, role: string, condition?: Condition): Argv;
  remove(member: string, role: string, condition?: Condition): Argv;
}

export function projectPolicy(g: Gcloud): PolicyTarget {
  return {
    key: "project",
    describe: g.read("projects", "get-iam-policy", g.project),
    // --condition=None: the project may hold conditional bindings, and then gcloud asks which one is meant.
    add: (member, role, condition) =>
      g.write(
        "projects",
        "add-iam-policy-binding",
        g.project,
        `--member=${member}`,
        `--role=${role}`,
        conditionFlag(condition),
        "--format=none",
      ),
    remove: (member, role, condition) =>
      g.write(
        "projects",
        "remove-iam-policy-binding",
        g.project,
        `--member=${member}`,
        `--role=${role}`,
        conditionFlag(condition),
        "--format=none",
      ),
  };
}

/** `gcloud <group...> get-iam-policy NAME [extra]` and its add/remove siblings. */
export function resourcePolicy(
  g: Gcloud,
  key: string,
  group: readonly string[],
  name: string,
  extra: readonly string[] = [],
): PolicyTarget {
  return {
    key,
    describe: g.read(...group, "get-iam-policy", name, ...extra),
    add: (member, role) =>
      g.write(
        ...group,
        "add-iam-policy-binding",
        name,
        ...extra,
        `--member=${member}`,
        `--role=${role}`,
        "--format=none",
      ),
    remove: (member, role) =>
      g.write(
        ...group,
        "remove-iam-policy-binding",
        name,
        ...extra,
        `--member=${member}`,
        `--role=${role}`,
        "--format=none",
      ),
  };
}

interface Policy {
  bindings?: Array<{ role?: string; members?: string[]; condition?: { title?: string } }>;
}

/** True when the policy grants the role to the member, under the condition of that title (or none). */
export function policyGrants(
  policy: unknown,
  member: string,
  role: string,
  conditionTitle?: string,
): boolean {
  const bindings = (policy as Policy | null)?.bindings ?? [];
  return bindings.some(
    (b) =>
      b.role === role &&
      (b.members ?? []).includes(member) &&
      (b.condition?.title ?? undefined) === conditionTitle,
  );
}

export interface BindingOptions {
  member: string;
  role: string;
  target: PolicyTarget;
  doc: string;
  dependsOn: readonly string[];
  /** Kept on teardown, with the reason. */
  keepOnTeardown?: string;
  /** Narrows the grant (project bindings only). */
  condition?: Condition;
}

/** The plan key of a binding. */
export const bindingKey = (targetKey: string, role: string, member: string, condition?: string): string =>
  `iam/${targetKey}/${role}/${member}${condition ? `/${condition}` : ""}`;

/** An IAM binding as a resource: present when the target's policy already grants the role to the member. */
export function iamBinding(o: BindingOptions): Resource {
  const resource: Resource = {
    key: bindingKey(o.target.key, o.role, o.member, o.condition?.title),
    kind: "iam-binding",
    name: `${o.role} for ${o.member}${o.condition ? ` if ${o.condition.title}` : ""}`,
    doc: o.doc,
    dependsOn: o.target.key === "project" ? o.dependsOn : [o.target.key, ...o.dependsOn],
    describe: o.target.describe,
    present: async (policy: unknown, resolve: Resolve) =>
      policyGrants(policy, await resolve(o.member), o.role, o.condition?.title),
    create: [o.target.add(o.member, o.role, o.condition)],
    delete: [o.target.remove(o.member, o.role, o.condition)],
    grant: {
      member: o.member,
      role: o.role,
      on: o.target.key,
      ...(o.condition ? { condition: { ...o.condition } } : {}),
    },
  };
  if (o.target.key !== "project") resource.ownedBy = o.target.key;
  if (o.keepOnTeardown) resource.keepOnTeardown = o.keepOnTeardown;
  return resource;
}

/** `serviceAccount:EMAIL`. */
export const sa = (email: string): string => `serviceAccount:${email}`;

/** Label flags value: `k=v,k2=v2`, keys sorted so the plan is stable. */
export function labelList(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(",");
}
