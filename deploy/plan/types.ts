// The deployment plan: resources as the gcloud commands that describe, create, update and delete them.
import type { NameKind } from "../naming-rules.ts";

/** Arguments after `gcloud`. An argument may hold `${NAME}` placeholders for plan variables. */
export type Argv = readonly string[];

/** Replaces the `${NAME}` placeholders of a string with the variables' values. */
export type Resolve = (text: string) => Promise<string>;

/** A value known only while deploying: the project number, a function's URL, the log sink's writer identity. */
export interface PlanVariable {
  name: string;
  /** Prints the value on stdout (a `--format=value(...)` command). */
  command: Argv;
  /** Resources that must exist before the value can be read. */
  dependsOn: readonly string[];
  doc: string;
}

export type ResourceKind =
  | "apis"
  | "bucket"
  | "managed-folder"
  | "service-account"
  | "iam-binding"
  | "topic"
  | "subscription"
  | "function"
  | "notification"
  | "secret"
  | "sink"
  | "scheduler-job"
  | "repository"
  | "image";

/** One IAM grant: who gets which role on what (for reading and testing the plan). */
export interface Grant {
  member: string;
  role: string;
  /** The resource key the role is granted on, or "project". */
  on: string;
  /** The IAM condition that narrows it, when there is one. */
  condition?: { title: string; expression: string };
}

export interface Resource {
  /** Unique within the plan, e.g. `topic/run-started`. */
  key: string;
  kind: ResourceKind;
  /** The name Google Cloud knows it by. */
  name: string;
  /** Which naming rule the name must pass; absent for names that are not chosen here (APIs, IAM bindings). */
  nameKind?: NameKind;
  /** One line: why it exists. */
  doc: string;
  dependsOn: readonly string[];
  /** Exits 0 with JSON on stdout when the resource exists; a NOT_FOUND error otherwise. */
  describe: Argv;
  /** Decides from describe's JSON whether the resource is there (IAM: is the member in the role); default: yes. */
  present?: (described: unknown, resolve: Resolve) => Promise<boolean>;
  /** What differs between what exists and the plan; empty when they agree. */
  drift?: (described: unknown, resolve: Resolve) => Promise<string[]>;
  /** A difference deploy cannot fix in place (a bucket in another region): deploy stops and says so. */
  conflict?: (described: unknown) => string | null;
  create: readonly Argv[];
  /** A resource deploy does not create (a secret's value is the user's): missing, deploy stops with this message. */
  missing?: string;
  /** Brings an existing resource in line with the plan when drift reports differences. */
  update?: readonly Argv[];
  /** Removes it on teardown; absent: teardown keeps it. */
  delete?: readonly Argv[];
  /** Goes away with this resource on teardown (a binding on a topic goes with the topic). */
  ownedBy?: string;
  /** Kept on teardown even though deploy may have made it, because other things in the project may rely on it. */
  keepOnTeardown?: string;
  /** Local work that must happen before create or update. */
  before?: "stage-functions-source";
  /** For IAM bindings: the grant, so tests and readers can see who may do what. */
  grant?: Grant;
  /** Commands shown in the dry run as comments (local staging, notes). */
  notes?: readonly string[];
  /** Why its creation may fail for minutes in a fresh project (the printed plan says a rerun may be needed). */
  provisioning?: string;
}

export interface Plan {
  project: string;
  region: string;
  variables: readonly PlanVariable[];
  /** In dependency order: every resource comes after those it depends on. */
  resources: readonly Resource[];
  /** Local commands the plan needs before any function is deployed (shown in the dry run). */
  stageCommand: Argv;
  /** Things the reader should know (skipped images, provisional filters). */
  warnings: readonly string[];
  /** What the run's jobs ask Vertex AI for (machines, the tuning job's settings), shown at the top of the plan. */
  jobSettings?: readonly string[];
}

export const placeholder = (name: string): string => `\${${name}}`;

/** The placeholder names an argument refers to. */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]!);
}
