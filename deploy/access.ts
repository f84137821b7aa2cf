// Who may do what: the roles each identity needs, publishers derived from the topic registry, nothing public.
import {
  TOPICS,
  TOPIC_KEYS,
  topicsConsumedBy,
  type FunctionName,
  type Principal,
  type TopicKey,
} from "../events/topics.ts";
import { JOB_STEPS } from "../schemas/names.ts";
import type { Identity } from "./names.ts";
import type { DeployedFunction } from "./settings.ts";

/** What a role is granted on. */
export type GrantTarget =
  | { kind: "project" }
  | { kind: "bucket" }
  | { kind: "topic"; topic: TopicKey }
  | { kind: "dead-letter-topic"; topic: TopicKey }
  | { kind: "service-account"; identity: Identity }
  | { kind: "function"; fn: DeployedFunction };

export interface IdentityGrant {
  identity: Identity;
  role: string;
  on: GrantTarget;
  why: string;
}

/** Functions that start Vertex AI jobs: they need the Vertex AI user role and may act as the job accounts. */
export const LAUNCHERS: readonly DeployedFunction[] = ["advance-run", "retrigger-run"];

/** Functions fed by Pub/Sub push or Eventarc: the invoker identity may call them, nobody else. */
export const EVENT_FUNCTIONS: readonly DeployedFunction[] = [
  "start-run",
  "advance-run",
  "retrigger-run",
  "watch-jobs",
];

const OBJECT_USER = "roles/storage.objectUser";
const OBJECT_VIEWER = "roles/storage.objectViewer";
const PUBLISHER = "roles/pubsub.publisher";

/** The identity of a registry principal, when the deployment creates one for it (not the log sink, not people). */
export function identityOfPrincipal(p: Principal): Identity | null {
  if (p.startsWith("fn:") || p.startsWith("job:")) return p as Identity;
  return null;
}

/** Every role the deployment grants to its own service accounts. */
export function identityGrants(): IdentityGrant[] {
  const grants: IdentityGrant[] = [];
  const add = (identity: Identity, role: string, on: GrantTarget, why: string) =>
    grants.push({ identity, role, on, why });

  // Publishers: exactly the topics whose registry entry names the principal.
  for (const key of TOPIC_KEYS) {
    for (const p of TOPICS[key].publishers as readonly Principal[]) {
      const identity = identityOfPrincipal(p);
      if (identity)
        add(
          identity,
          PUBLISHER,
          { kind: "topic", topic: key },
          `publishes ${TOPICS[key].carries} (registry: ${key})`,
        );
    }
  }

  // Consumers acknowledge malformed messages and keep a copy on the topic's dead-letter topic.
  for (const fn of [
    "start-run",
    "advance-run",
    "retrigger-run",
    "watch-jobs",
  ] as const satisfies readonly FunctionName[]) {
    for (const key of topicsConsumedBy(fn)) {
      add(
        `fn:${fn}`,
        PUBLISHER,
        { kind: "dead-letter-topic", topic: key },
        `keeps malformed ${key} messages it acknowledges`,
      );
    }
  }

  // Run state, uploads and run folders live in the bucket.
  for (const fn of ["start-run", "advance-run", "retrigger-run", "watch-jobs"] as const) {
    add(`fn:${fn}`, OBJECT_USER, { kind: "bucket" }, "reads and compare-and-swaps run state in the bucket");
  }
  for (const step of JOB_STEPS) {
    add(
      `job:${step}`,
      OBJECT_USER,
      { kind: "bucket" },
      "reads its inputs and writes its outputs under the run folder",
    );
  }
  add("fn:predict", OBJECT_VIEWER, { kind: "bucket" }, "loads the served model from the run folder");

  // Vertex AI: launching jobs and registering models; reading the registry's champion.
  for (const fn of LAUNCHERS) {
    add(
      `fn:${fn}`,
      "roles/aiplatform.user",
      { kind: "project" },
      "launches Vertex AI custom jobs and registers models",
    );
    for (const step of JOB_STEPS) {
      add(
        `fn:${fn}`,
        "roles/iam.serviceAccountUser",
        { kind: "service-account", identity: `job:${step}` },
        `starts ${step} jobs that run as their own account`,
      );
    }
  }
  add(
    "fn:watch-jobs",
    "roles/aiplatform.viewer",
    { kind: "project" },
    "reads a failed job's error from Vertex AI",
  );
  add(
    "job:evaluate",
    "roles/aiplatform.viewer",
    { kind: "project" },
    "finds the registered champion to compare against",
  );
  add(
    "fn:predict",
    "roles/aiplatform.viewer",
    { kind: "project" },
    "finds the champion model version to serve",
  );

  // Delivery: the invoker identity signs Pub/Sub pushes and receives Eventarc events.
  for (const fn of EVENT_FUNCTIONS) {
    add("invoker", "roles/run.invoker", { kind: "function", fn }, `delivers events to ${fn}`);
  }
  add(
    "invoker",
    "roles/eventarc.eventReceiver",
    { kind: "project" },
    "receives Eventarc events for the upload trigger",
  );

  // Builds of the images and of the functions.
  add(
    "builder",
    "roles/cloudbuild.builds.builder",
    { kind: "project" },
    "builds the images and the functions with Cloud Build",
  );
  return grants;
}

/** The roles that are never granted: no public access anywhere. */
export const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"] as const;
