// Who may do what: the roles each identity needs, publishers derived from the topic registry, nothing public.
import { TOPICS, TOPIC_KEYS, type Principal, type TopicKey } from "../events/topics.ts";
import { JOB_STEPS } from "../schemas/names.ts";
import { deliveries } from "./deliveries.ts";
import type { Identity } from "./names.ts";
import { EVENT_FUNCTIONS, type DeployedFunction } from "./settings.ts";

export { EVENT_FUNCTIONS };

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

const OBJECT_USER = "roles/storage.objectUser";
const OBJECT_VIEWER = "roles/storage.objectViewer";
const PUBLISHER = "roles/pubsub.publisher";

/**
 * What each function does in the bucket: read and write (object user: create, overwrite, delete) or read only.
 * Every deployed function is listed, so a new one cannot be deployed without deciding.
 */
export const BUCKET_ACCESS: Readonly<Record<DeployedFunction, { role: string; why: string }>> = {
  "start-run": { role: OBJECT_USER, why: "reads and compare-and-swaps run state in the bucket" },
  "advance-run": { role: OBJECT_USER, why: "reads and compare-and-swaps run state in the bucket" },
  "retrigger-run": { role: OBJECT_USER, why: "reads and compare-and-swaps run state in the bucket" },
  "watch-jobs": { role: OBJECT_USER, why: "reads and compare-and-swaps run state in the bucket" },
  "reconcile-runs": { role: OBJECT_VIEWER, why: "reads the state of every running run" },
  "log-run-events": {
    role: OBJECT_USER,
    why: "writes one object per event under runs/RUN/events/",
  },
  "track-run": {
    role: OBJECT_VIEWER,
    why: "reads run state, metrics, slices and model metadata to record them in MLflow",
  },
  "report-run": { role: OBJECT_USER, why: "reads the run folder and writes runs/RUN/report.html" },
  predict: { role: OBJECT_VIEWER, why: "loads the served model from the run folder" },
};

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

  // Readers acknowledge malformed messages and keep a copy on the topic's dead-letter topic: every consumer, and an
  // observer on the topics no consumer reads (elsewhere the consumer keeps the one copy).
  for (const d of deliveries()) {
    if (!d.keepsDeadLetters) continue;
    add(
      `fn:${d.fn}`,
      PUBLISHER,
      { kind: "dead-letter-topic", topic: d.topic },
      `keeps malformed ${d.topic} messages it acknowledges`,
    );
  }

  // Run state, uploads and run folders live in the bucket.
  for (const [fn, { role, why }] of Object.entries(BUCKET_ACCESS) as Array<
    [DeployedFunction, (typeof BUCKET_ACCESS)[DeployedFunction]]
  >) {
    add(`fn:${fn}`, role, { kind: "bucket" }, why);
  }
  for (const step of JOB_STEPS) {
    add(
      `job:${step}`,
      OBJECT_USER,
      { kind: "bucket" },
      "reads its inputs and writes its outputs under the run folder",
    );
  }

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
    "fn:reconcile-runs",
    "roles/aiplatform.user",
    { kind: "project" },
    "reads each running run's Vertex AI job and cancels one past its step deadline",
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
