// A fake gcloud for tests: records every call and answers describes from what earlier calls created.
// It checks what the real cloud would refuse: a disabled API, a missing topic, service account or function, a
// create of something that exists. install-gcloud-stub.ts puts it behind an executable named gcloud.
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";

export interface Binding {
  role: string;
  members: string[];
  condition?: { title: string; expression: string };
}

export interface StubFailure {
  /** Fails calls whose joined arguments contain this. */
  match: string;
  times: number;
  stderr: string;
  code?: number;
}

export interface StubState {
  project: string;
  projectNumber: string;
  /** Working folder relative paths are read from (--source, --config). */
  cwd: string;
  apis: string[];
  resources: Record<string, Record<string, unknown>>;
  policies: Record<string, Binding[]>;
  calls: string[][];
  failures: StubFailure[];
}

export interface StubResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function newStubState(project: string, cwd: string): StubState {
  return {
    project,
    projectNumber: "123456789012",
    cwd,
    apis: [],
    resources: {},
    policies: {},
    calls: [],
    failures: [],
  };
}

/** The verbs a create makes; a second create of the same thing is refused, so tests can count them. */
export const CREATE_VERBS = ["create", "deploy", "submit", "enable", "add-iam-policy-binding"] as const;

const API_OF: Record<string, string> = {
  pubsub: "pubsub.googleapis.com",
  functions: "cloudfunctions.googleapis.com",
  run: "run.googleapis.com",
  logging: "logging.googleapis.com",
  artifacts: "artifactregistry.googleapis.com",
  builds: "cloudbuild.googleapis.com",
  iam: "iam.googleapis.com",
  storage: "storage.googleapis.com",
  secrets: "secretmanager.googleapis.com",
};

export const COMMANDS = [
  "projects describe",
  "projects get-iam-policy",
  "projects add-iam-policy-binding",
  "projects remove-iam-policy-binding",
  "services list",
  "services enable",
  "storage buckets describe",
  "storage buckets create",
  "storage buckets update",
  "storage buckets get-iam-policy",
  "storage buckets add-iam-policy-binding",
  "storage buckets remove-iam-policy-binding",
  "storage managed-folders describe",
  "storage managed-folders create",
  "storage rm",
  "storage service-agent",
  "iam service-accounts describe",
  "iam service-accounts create",
  "iam service-accounts delete",
  "iam service-accounts get-iam-policy",
  "iam service-accounts add-iam-policy-binding",
  "iam service-accounts remove-iam-policy-binding",
  "pubsub topics describe",
  "pubsub topics create",
  "pubsub topics delete",
  "pubsub topics get-iam-policy",
  "pubsub topics add-iam-policy-binding",
  "pubsub topics remove-iam-policy-binding",
  "pubsub subscriptions describe",
  "pubsub subscriptions create",
  "pubsub subscriptions update",
  "pubsub subscriptions delete",
  "pubsub subscriptions get-iam-policy",
  "pubsub subscriptions add-iam-policy-binding",
  "pubsub subscriptions remove-iam-policy-binding",
  "functions describe",
  "functions deploy",
  "functions delete",
  "run services get-iam-policy",
  "run services add-iam-policy-binding",
  "run services remove-iam-policy-binding",
  "storage buckets notifications list",
  "storage buckets notifications create",
  "storage buckets notifications delete",
  "logging sinks describe",
  "logging sinks create",
  "logging sinks update",
  "logging sinks delete",
  "scheduler jobs describe",
  "scheduler jobs create pubsub",
  "scheduler jobs update pubsub",
  "scheduler jobs delete",
  "artifacts repositories describe",
  "artifacts repositories create",
  "artifacts repositories delete",
  "artifacts repositories get-iam-policy",
  "artifacts repositories add-iam-policy-binding",
  "artifacts repositories remove-iam-policy-binding",
  "artifacts docker images describe",
  "builds submit",
  "secrets describe",
  "secrets get-iam-policy",
  "secrets add-iam-policy-binding",
  "secrets remove-iam-policy-binding",
];

class StubError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Parsed {
  command: string;
  args: string[];
  flags: Map<string, string[]>;
}

function parse(argv: readonly string[]): Parsed {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (const a of argv) {
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const key = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const value = eq < 0 ? "true" : a.slice(eq + 1);
      flags.set(key, [...(flags.get(key) ?? []), value]);
    } else positionals.push(a);
  }
  const command = COMMANDS.filter((c) => positionals.join(" ").startsWith(c)).sort(
    (a, b) => b.length - a.length,
  )[0];
  if (!command) throw new StubError(2, `ERROR: (gcloud) the stub does not know: ${argv.join(" ")}`);
  return { command, args: positionals.slice(command.split(" ").length), flags };
}

const flag = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);
const need = (p: Parsed, name: string): string => {
  const v = flag(p, name);
  if (v === undefined)
    throw new StubError(
      2,
      `ERROR: (gcloud.${p.command.replace(/ /g, ".")}) argument --${name}: Must be specified.`,
    );
  return v;
};

function notFound(p: Parsed, what: string): never {
  throw new StubError(
    1,
    `ERROR: (gcloud.${p.command.replace(/ /g, ".")}) NOT_FOUND: Resource not found (resource=${what}).`,
  );
}

function labelsOf(value: string | undefined): Record<string, string> {
  if (!value) return {};
  return Object.fromEntries(value.split(",").map((kv) => kv.split("=") as [string, string]));
}

function durationSeconds(v: string): string {
  const m = /^(\d+)([smhd])$/.exec(v);
  if (!m) return v;
  const mult = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
  return `${Number(m[1]) * mult}s`;
}

function getPath(obj: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (node, k) => (node && typeof node === "object" ? (node as Record<string, unknown>)[k] : undefined),
      obj,
    );
}

function output(p: Parsed, value: unknown): string {
  const format = flag(p, "format");
  if (format === "none" || value === undefined) return "";
  const m = format ? /^value\((.+)\)$/.exec(format) : null;
  if (m) {
    const v = getPath(value, m[1]!);
    return `${typeof v === "object" ? JSON.stringify(v) : String((v as string | number | undefined) ?? "")}\n`;
  }
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Runs one gcloud call against the state; mutates it and records the call. */
export function handleGcloud(state: StubState, argv: readonly string[]): StubResult {
  state.calls.push([...argv]);
  const joined = argv.join(" ");
  const failure = state.failures.find((f) => f.times > 0 && joined.includes(f.match));
  if (failure) {
    failure.times -= 1;
    return { code: failure.code ?? 1, stdout: "", stderr: failure.stderr };
  }
  try {
    const p = parse(argv);
    return { code: 0, stdout: run(state, p), stderr: "" };
  } catch (err) {
    if (err instanceof StubError) return { code: err.code, stdout: "", stderr: `${err.message}\n` };
    throw err;
  }
}

function run(state: StubState, p: Parsed): string {
  const words = p.command.split(" ");
  const group = words[0];
  const verb = words.at(-1);
  if (flag(p, "project") !== state.project)
    throw new StubError(1, `ERROR: --project=${state.project} missing or wrong in: ${p.command}`);
  const api = API_OF[group ?? ""];
  if (api && !state.apis.includes(api))
    throw new StubError(
      1,
      `ERROR: PERMISSION_DENIED: ${api} has not been used in project ${state.project} or it is disabled (SERVICE_DISABLED).`,
    );
  const R = state.resources;
  const saEmail = (id: string) => (id.includes("@") ? id : `${id}@${state.project}.iam.gserviceaccount.com`);
  const requireSa = (email: string) => {
    if (!R[`sa/${saEmail(email)}`])
      throw new StubError(1, `ERROR: INVALID_ARGUMENT: Service account ${email} does not exist.`);
  };
  const create = (key: string, value: Record<string, unknown>) => {
    if (R[key])
      throw new StubError(
        1,
        `ERROR: (gcloud.${p.command.replace(/ /g, ".")}) ALREADY_EXISTS: ${key} already exists`,
      );
    R[key] = value;
    return value;
  };
  const existing = (key: string) => R[key] ?? notFound(p, key);
  const remove = (key: string) => {
    existing(key);
    for (const k of Object.keys(R)) if (k === key) delete R[k];
    delete state.policies[key];
  };
  const topicPath = (t: string) => (t.startsWith("projects/") ? t : `projects/${state.project}/topics/${t}`);
  const name = p.args[0] ?? "";

  switch (p.command) {
    case "projects describe":
      return output(p, {
        projectId: state.project,
        projectNumber: state.projectNumber,
        lifecycleState: "ACTIVE",
      });
    case "services list":
      return output(
        p,
        state.apis.map((a) => ({ config: { name: a }, state: "ENABLED" })),
      );
    case "services enable":
      for (const a of p.args) if (!state.apis.includes(a)) state.apis.push(a);
      return "";
    case "storage service-agent":
      return `service-${state.projectNumber}@gs-project-accounts.iam.gserviceaccount.com\n`;

    case "storage buckets describe":
      return output(p, existing(`bucket/${name}`));
    case "storage buckets create":
      create(`bucket/${name}`, {
        name: name.replace("gs://", ""),
        location: need(p, "location").toUpperCase(),
        uniform_bucket_level_access: flag(p, "uniform-bucket-level-access") === "true",
        public_access_prevention: flag(p, "public-access-prevention") === "true" ? "enforced" : "inherited",
      });
      return "";
    case "storage buckets update": {
      const b = existing(`bucket/${name}`);
      if (flag(p, "uniform-bucket-level-access")) b.uniform_bucket_level_access = true;
      if (flag(p, "public-access-prevention")) b.public_access_prevention = "enforced";
      return "";
    }
    case "storage managed-folders describe":
      return output(p, existing(`folder/${name}`));
    case "storage managed-folders create": {
      const bucket = /^gs:\/\/([^/]+)\//.exec(name)?.[1] ?? "";
      existing(`bucket/gs://${bucket}`);
      create(`folder/${name}`, { name });
      return "";
    }
    case "storage rm": {
      const key = `bucket/${name.replace(/\/$/, "")}`;
      remove(key);
      for (const k of Object.keys(R)) if (k.startsWith(`folder/${name.replace(/\/$/, "")}/`)) delete R[k];
      return "";
    }

    case "iam service-accounts describe":
      return output(p, existing(`sa/${name}`));
    case "iam service-accounts create":
      create(`sa/${saEmail(name)}`, { email: saEmail(name), displayName: flag(p, "display-name") ?? "" });
      return "";
    case "iam service-accounts delete":
      remove(`sa/${name}`);
      return "";

    case "pubsub topics describe":
      return output(p, existing(`topic/${name}`));
    case "pubsub topics create":
      create(`topic/${name}`, { name: topicPath(name), labels: labelsOf(flag(p, "labels")) });
      return "";
    case "pubsub topics delete":
      remove(`topic/${name}`);
      return "";

    case "pubsub subscriptions describe":
      return output(p, existing(`subscription/${name}`));
    case "pubsub subscriptions create":
    case "pubsub subscriptions update": {
      const key = `subscription/${name}`;
      const sub =
        verb === "create"
          ? create(key, { name: `projects/${state.project}/subscriptions/${name}` })
          : existing(key);
      if (verb === "create") {
        const topic = need(p, "topic");
        existing(`topic/${topic}`);
        sub.topic = topicPath(topic);
        sub.labels = labelsOf(flag(p, "labels"));
        sub.ackDeadlineSeconds = 10;
        sub.messageRetentionDuration = "604800s";
        sub.expirationPolicy = { ttl: "2678400s" };
      }
      applySubscriptionFlags(p, sub, state, requireSa);
      return "";
    }
    case "pubsub subscriptions delete":
      remove(`subscription/${name}`);
      return "";

    case "functions describe":
      return output(p, existing(`function/${name}`));
    case "functions deploy": {
      const source = need(p, "source");
      if (!existsSync(join(isAbsolute(source) ? source : join(state.cwd, source), "package.json"))) {
        throw new StubError(
          1,
          `ERROR: (gcloud.functions.deploy) the source folder ${source} holds no package.json (was it staged?)`,
        );
      }
      for (const f of ["run-service-account"]) requireSa(need(p, f));
      requireSa(need(p, "build-service-account").split("/").pop() ?? "");
      if (flag(p, "allow-unauthenticated") === "true")
        throw new StubError(1, "ERROR: the plan must not allow unauthenticated calls");
      const prev = R[`function/${name}`];
      R[`function/${name}`] = {
        name: `projects/${state.project}/locations/${need(p, "region")}/functions/${name}`,
        state: "ACTIVE",
        environment: "GEN_2",
        labels: {
          ...(prev?.labels ?? {}),
          ...labelsOf(flag(p, "update-labels")),
        },
        serviceConfig: {
          uri: `https://${name}-stub-uc.a.run.app`,
          serviceAccountEmail: need(p, "run-service-account"),
          ingressSettings: flag(p, "ingress-settings"),
          environmentVariables: flag(p, "set-env-vars"),
        },
        buildConfig: { entryPoint: need(p, "entry-point"), runtime: need(p, "runtime") },
      };
      return "";
    }
    case "functions delete":
      remove(`function/${name}`);
      delete state.policies[`service/${name}`];
      return "";

    case "storage buckets notifications list": {
      // Each configuration as gcloud prints it: {"Bucket URL", "Notification Configuration"}.
      const listed = Object.entries(R)
        .filter(([k]) => k.startsWith(`notification/${name}/`))
        .map(([, v]) => ({ "Bucket URL": name, "Notification Configuration": v }));
      existing(`bucket/${name}`);
      const filter = /^"Notification Configuration"\.topic="(.+)"$/.exec(flag(p, "filter") ?? "");
      const kept = filter
        ? listed.filter((l) => (l["Notification Configuration"] as { topic?: string }).topic === filter[1])
        : listed;
      const limited = kept.slice(0, Number(flag(p, "limit") ?? kept.length));
      if (flag(p, "format") === 'value("Notification Configuration".id)')
        return limited
          .map((l) => `${String((l["Notification Configuration"] as { id: string }).id)}\n`)
          .join("");
      return output(p, limited);
    }
    case "storage buckets notifications create": {
      existing(`bucket/${name}`);
      if (flag(p, "skip-topic-setup") !== "true")
        throw new StubError(1, "ERROR: the plan must not let gcloud set up topics and grants itself");
      const topic = need(p, "topic");
      const topicName = topic.split("/").pop() ?? "";
      existing(`topic/${topicName}`);
      // Cloud Storage checks that its service agent may publish on the topic before it creates the configuration.
      const agent = `serviceAccount:service-${state.projectNumber}@gs-project-accounts.iam.gserviceaccount.com`;
      const grants = state.policies[`topic/${topicName}`] ?? [];
      if (!grants.some((b) => b.role === "roles/pubsub.publisher" && b.members.includes(agent)))
        throw new StubError(
          1,
          `ERROR: (gcloud.storage.buckets.notifications.create) HTTPError 403: The service account ${agent.slice(15)} does not have permission to publish messages to to the Cloud Pub/Sub topic //pubsub.googleapis.com/${topic}, or that topic does not exist.`,
        );
      const id = String(Object.keys(R).filter((k) => k.startsWith(`notification/${name}/`)).length + 1);
      R[`notification/${name}/${id}`] = {
        id,
        topic: `//pubsub.googleapis.com/${topic}`,
        event_types: (flag(p, "event-types") ?? "").split(",").filter(Boolean),
        object_name_prefix: flag(p, "object-prefix"),
        payload_format: flag(p, "payload-format") === "none" ? "NONE" : "JSON_API_V1",
      };
      return "";
    }
    case "storage buckets notifications delete": {
      const m = /^projects\/_\/buckets\/([^/]+)\/notificationConfigs\/(\d+)$/.exec(name);
      if (!m) throw new StubError(1, `ERROR: not a notification configuration: ${name}`);
      remove(`notification/gs://${m[1]}/${m[2]}`);
      return "";
    }

    case "secrets describe":
      return output(p, existing(`secret/${name}`));

    case "logging sinks describe":
      return output(p, existing(`sink/${name}`));
    case "logging sinks create":
    case "logging sinks update": {
      const destination = p.args[1] ?? "";
      const topic = /topics\/(.+)$/.exec(destination)?.[1];
      if (!topic || !R[`topic/${topic}`])
        throw new StubError(1, `ERROR: INVALID_ARGUMENT: destination ${destination} does not exist`);
      const key = `sink/${name}`;
      const s =
        verb === "create"
          ? create(key, {
              name,
              writerIdentity: `serviceAccount:service-${state.projectNumber}@gcp-sa-logging.iam.gserviceaccount.com`,
            })
          : existing(key);
      s.destination = destination;
      s.filter = need(p, "log-filter");
      return "";
    }
    case "logging sinks delete":
      remove(`sink/${name}`);
      return "";

    case "scheduler jobs describe":
      return output(p, existing(`scheduler/${name}`));
    case "scheduler jobs create pubsub":
    case "scheduler jobs update pubsub": {
      const topic = /topics\/(.+)$/.exec(need(p, "topic"))?.[1];
      if (!topic || !R[`topic/${topic}`])
        throw new StubError(1, `ERROR: NOT_FOUND: topic ${need(p, "topic")} does not exist`);
      const key = `scheduler/${name}`;
      const j = words.at(-2) === "create" ? create(key, { name }) : existing(key);
      j.schedule = need(p, "schedule");
      j.pubsubTarget = { topicName: need(p, "topic") };
      return "";
    }
    case "scheduler jobs delete":
      remove(`scheduler/${name}`);
      return "";

    case "artifacts repositories describe":
      return output(p, existing(`repo/${name}`));
    case "artifacts repositories create":
      create(`repo/${name}`, {
        name: `projects/${state.project}/locations/${need(p, "location")}/repositories/${name}`,
        format: need(p, "repository-format"),
      });
      return "";
    case "artifacts repositories delete":
      remove(`repo/${name}`);
      for (const k of Object.keys(R)) if (k.startsWith("image/") && k.includes(`/${name}/`)) delete R[k];
      return "";
    case "artifacts docker images describe":
      return output(p, existing(`image/${name}`));
    case "builds submit": {
      const config = need(p, "config");
      if (!existsSync(join(state.cwd, config)))
        throw new StubError(1, `ERROR: (gcloud.builds.submit) could not find ${config}`);
      requireSa(need(p, "service-account").split("/").pop() ?? "");
      const subs = Object.fromEntries(
        need(p, "substitutions")
          .split(",")
          .map((kv): [string, string] => [kv.split("=")[0] ?? "", kv.split("=").slice(1).join("=")]),
      );
      for (const image of [subs._IMAGE, subs._SOURCE_IMAGE]) {
        const repo = /^[^/]+\/[^/]+\/([^/]+)\//.exec(image ?? "")?.[1];
        if (!image || !repo || !R[`repo/${repo}`])
          throw new StubError(1, `ERROR: push of ${image} failed: repository ${repo} does not exist`);
        R[`image/${image}`] = { uri: image };
      }
      return "";
    }
  }

  // IAM policies.
  const policyKey = policyKeyOf(p, name);
  if (policyKey !== "project") existing(policyKey === `service/${name}` ? `function/${name}` : policyKey);
  const bindings = (state.policies[policyKey] ??= []);
  if (verb === "get-iam-policy") return output(p, { bindings, etag: "BwX" });
  const member = need(p, "member");
  const role = need(p, "role");
  const condition = conditionOf(p);
  const sameCondition = (x: Binding) => x.condition?.title === condition?.title;
  if (verb === "add-iam-policy-binding") {
    checkMember(state, member, requireSa);
    const b =
      bindings.find((x) => x.role === role && sameCondition(x)) ??
      (bindings.push({ role, members: [], ...(condition ? { condition } : {}) }), bindings.at(-1)!);
    if (!b.members.includes(member)) b.members.push(member);
    return output(p, { bindings });
  }
  const b = bindings.find((x) => x.role === role && sameCondition(x) && x.members.includes(member));
  if (!b)
    throw new StubError(
      1,
      `ERROR: Policy binding with the specified principal, role, and condition not found!`,
    );
  b.members = b.members.filter((m) => m !== member);
  return output(p, { bindings });
}

/** --condition=None, or expression=...,title=... (the expression must hold no comma: gcloud splits on them). */
function conditionOf(p: Parsed): { title: string; expression: string } | undefined {
  const raw = flag(p, "condition");
  if (p.command.startsWith("projects") && raw === undefined)
    throw new StubError(1, "ERROR: the project holds conditional bindings: pass --condition");
  if (raw === undefined || raw === "None") return undefined;
  const parts = Object.fromEntries(
    raw.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  if (!parts.expression || !parts.title || Object.keys(parts).length !== 2)
    throw new StubError(2, `ERROR: (gcloud) argument --condition: bad value ${raw}`);
  return { title: parts.title, expression: parts.expression };
}

function policyKeyOf(p: Parsed, name: string): string {
  if (p.command.startsWith("projects")) return "project";
  if (p.command.startsWith("storage buckets")) return `bucket/${name}`;
  if (p.command.startsWith("iam service-accounts")) return `sa/${name}`;
  if (p.command.startsWith("pubsub topics")) return `topic/${name}`;
  if (p.command.startsWith("pubsub subscriptions")) return `subscription/${name}`;
  if (p.command.startsWith("run services")) return `service/${name}`;
  if (p.command.startsWith("artifacts repositories")) return `repo/${name}`;
  if (p.command.startsWith("secrets")) return `secret/${name}`;
  throw new StubError(2, `ERROR: the stub has no policy for ${p.command}`);
}

function checkMember(state: StubState, member: string, requireSa: (email: string) => void): void {
  const m = /^serviceAccount:(.+)$/.exec(member);
  if (!m) return;
  const email = m[1]!;
  if (email.endsWith(`@${state.project}.iam.gserviceaccount.com`)) requireSa(email);
  const agent = /^service-(\d+)@/.exec(email);
  if (agent && agent[1] !== state.projectNumber)
    throw new StubError(1, `ERROR: INVALID_ARGUMENT: ${email} is not this project's service agent`);
}

function applySubscriptionFlags(
  p: Parsed,
  sub: Record<string, unknown>,
  state: StubState,
  requireSa: (email: string) => void,
): void {
  const R = state.resources;
  const endpoint = flag(p, "push-endpoint");
  if (endpoint) {
    const fn = Object.values(R).find(
      (r) =>
        typeof r.serviceConfig === "object" && endpoint.startsWith((r.serviceConfig as { uri: string }).uri),
    );
    if (!fn)
      throw new StubError(1, `ERROR: INVALID_ARGUMENT: push endpoint ${endpoint} is no function's URL`);
    const account = need(p, "push-auth-service-account");
    requireSa(account);
    sub.pushConfig = {
      pushEndpoint: endpoint,
      oidcToken: { serviceAccountEmail: account, audience: flag(p, "push-auth-token-audience") ?? endpoint },
    };
  }
  const ack = flag(p, "ack-deadline");
  if (ack) sub.ackDeadlineSeconds = Number(ack);
  const minDelay = flag(p, "min-retry-delay");
  const maxDelay = flag(p, "max-retry-delay");
  if (minDelay || maxDelay)
    sub.retryPolicy = { minimumBackoff: minDelay ?? "10s", maximumBackoff: maxDelay ?? "600s" };
  const dlt = flag(p, "dead-letter-topic");
  if (dlt) {
    if (!R[`topic/${dlt}`])
      throw new StubError(1, `ERROR: NOT_FOUND: dead-letter topic ${dlt} does not exist`);
    sub.deadLetterPolicy = {
      deadLetterTopic: `projects/${state.project}/topics/${dlt}`,
      maxDeliveryAttempts: Number(flag(p, "max-delivery-attempts") ?? 5),
    };
  }
  const retention = flag(p, "message-retention-duration");
  if (retention) sub.messageRetentionDuration = durationSeconds(retention);
  if (flag(p, "expiration-period") === "never") sub.expirationPolicy = {};
}
