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
  | { kind: "function"; fn: DeployedFunction }
  | { kind: "repository"; repository: string };

/** An IAM condition that narrows a grant (Google evaluates it on each request). */
export interface GrantCondition {
  title: string;
  expression: string;
}

export interface IdentityGrant {
  identity: Identity;
  role: string;
  on: GrantTarget;
  why: string;
  condition?: GrantCondition;
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

export interface GrantOptions {
  /**
   * The tune job submits a Vertex AI HyperparameterTuningJob (search.parallelTrials above 1): it then needs what a
   * launcher needs, for the tuning job only, and its trials run as its own account.
   */
  tuningJobs: boolean;
}

/** Every role the deployment grants to its own service accounts. */
export function identityGrants(o: GrantOptions = { tuningJobs: false }): IdentityGrant[] {
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
  if (o.tuningJobs) {
    // Creating, getting, listing (to find its tuning job again after a restart) and cancelling a tuning job is
    // aiplatform.hyperparameterTuningJobs.*, which Vertex AI User holds. The trials run as the tune job's own account
    // (trialJobSpec.serviceAccount), not as the Custom Code Service Agent: they read the same data and MLflow secrets
    // as the tune job, and nothing else. Running a job as an account takes actAs on it, here on the tune job's own
    // (https://cloud.google.com/vertex-ai/docs/general/custom-service-account).
    add(
      "job:tune",
      "roles/aiplatform.user",
      { kind: "project" },
      "submits, finds, waits for and cancels its Vertex AI hyperparameter tuning job",
    );
    add(
      "job:tune",
      "roles/iam.serviceAccountUser",
      { kind: "service-account", identity: "job:tune" },
      "runs its tuning job's trials as its own account",
    );
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

  // Delivery: the invoker identity signs the Pub/Sub pushes (the upload notifications' included).
  for (const fn of EVENT_FUNCTIONS) {
    add("invoker", "roles/run.invoker", { kind: "function", fn }, `delivers events to ${fn}`);
  }

  return grants;
}

/**
 * What the builder account needs, per Google's list for a user-specified Cloud Build account (Cloud Run's "build
 * service account" page): Logs Writer, Artifact Registry Writer, and object read on the buckets sources are staged
 * in. Narrowed where the plan allows: the writer role on the deployment's own repositories (the functions' images go
 * there too, `--docker-repository`), object read only on the two staging buckets Google creates, by condition.
 */
export function builderGrants(o: { project: string; repositories: readonly string[] }): IdentityGrant[] {
  const grants: IdentityGrant[] = [
    {
      identity: "builder",
      role: "roles/logging.logWriter",
      on: { kind: "project" },
      why: "writes build logs to Cloud Logging (a build as a chosen account cannot use the default log bucket)",
    },
  ];
  if (o.repositories.length > 0) {
    for (const repository of o.repositories)
      grants.push({
        identity: "builder",
        role: "roles/artifactregistry.writer",
        on: { kind: "repository", repository },
        why: `pushes the images and the functions' images to ${repository}`,
      });
  } else {
    grants.push({
      identity: "builder",
      role: "roles/artifactregistry.writer",
      on: { kind: "project" },
      why: "pushes the functions' images to gcf-artifacts, which Cloud Functions creates (no repository of ours to narrow it to)",
    });
  }
  grants.push({
    identity: "builder",
    role: "roles/storage.objectViewer",
    on: { kind: "project" },
    why: "reads the sources gcloud stages for Cloud Build and Cloud Functions, in those buckets only",
    condition: {
      title: "sp-build-sources",
      expression: [
        `resource.name.startsWith("projects/_/buckets/${o.project}_cloudbuild")`,
        `resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")`,
      ].join(" || "),
    },
  });
  return grants;
}

/** The roles that are never granted: no public access anywhere. */
export const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"] as const;
