// Every name of a deployment, derived from the config and the topic registry; each one checked against the rules.
import type { PipelineConfig } from "../schemas/config.ts";
import { JOB_STEPS, type JobStep } from "../schemas/names.ts";
import { deadLetterTopicId, topicId, type TopicKey } from "../events/topics.ts";
import { checkName } from "./naming-rules.ts";
import { DEPLOYED_FUNCTIONS, type DeployedFunction, type EventFunction } from "./settings.ts";

/** An identity the deployment creates a service account for: a function, a job kind, the invoker, the builder. */
export type Identity = `fn:${DeployedFunction}` | `job:${JobStep}` | "invoker" | "builder";

export const IDENTITIES: readonly Identity[] = [
  ...DEPLOYED_FUNCTIONS.map((f) => `fn:${f}` as const),
  ...JOB_STEPS.map((s) => `job:${s}` as const),
  "invoker",
  "builder",
];

/** The images the deployment builds; the trainer's Dockerfile belongs to gpu-jobs/trainer. */
export const BUILT_IMAGES = ["trainer", "jobs", "serving"] as const;
export type BuiltImage = (typeof BUILT_IMAGES)[number];

export interface ImageRef {
  /** The image as the config names it (jobs run this one): `HOST/PROJECT/REPO/NAME:TAG`. */
  uri: string;
  /** The same image tagged with its source hash, so a second deploy of the same source builds nothing. */
  sourceUri: (hash: string) => string;
  /** Artifact Registry repository in this project and region that holds it. */
  repository: string;
}

export interface DeploymentNames {
  project: string;
  region: string;
  prefix: string;
  bucket: string;
  topic(key: TopicKey): string;
  deadLetterTopic(key: TopicKey): string;
  /** Push subscription that delivers a topic to one function that reads it (a consumer or an observer). */
  pushSubscription(key: TopicKey, fn: EventFunction): string;
  /** Pull subscription that keeps what lands on a dead-letter topic (a topic without subscriptions drops messages). */
  deadLetterHold(key: TopicKey): string;
  function(fn: DeployedFunction): string;
  serviceAccountId(identity: Identity): string;
  serviceAccountEmail(identity: Identity): string;
  /** The Cloud Logging sink that routes Vertex AI job state entries to the job-states topic. */
  jobStateSink: string;
  /** The Cloud Scheduler job that ticks reconcile-runs. */
  reconcileSchedule: string;
  /** Images built by the deployment, or null where the config points outside this project's Artifact Registry. */
  image(key: BuiltImage): ImageRef | null;
  /** Repositories to create: those the built images live in. */
  repositories(): string[];
}

/** Derives every name once; throws InvalidNameError naming the first name Google Cloud would reject. */
export function deploymentNames(config: PipelineConfig): DeploymentNames {
  const { projectId: project, region, topicPrefix: prefix, bucket } = config.runtime;
  checkName("bucket", bucket);

  const topic = (key: TopicKey) => checkName("topic", topicId(key, prefix));
  const deadLetterTopic = (key: TopicKey) => checkName("topic", deadLetterTopicId(key, prefix));
  const serviceAccountId = (identity: Identity) =>
    checkName("service-account", `${prefix}sp-${identity.replace(":", "-")}`);

  const images = new Map<BuiltImage, ImageRef | null>();
  for (const key of BUILT_IMAGES) images.set(key, imageRef(config, key));

  const names: DeploymentNames = {
    project,
    region,
    prefix,
    bucket,
    topic,
    deadLetterTopic,
    pushSubscription: (key, fn) => checkName("subscription", `${topicId(key, prefix)}-to-${fn}`),
    deadLetterHold: (key) => checkName("subscription", `${deadLetterTopicId(key, prefix)}-hold`),
    function: (fn) => checkName("function", `${prefix}${fn}`),
    serviceAccountId,
    serviceAccountEmail: (identity) => `${serviceAccountId(identity)}@${project}.iam.gserviceaccount.com`,
    jobStateSink: checkName("sink", `${prefix}sp-vertex-job-states`),
    // Cloud Scheduler job ids: letters, digits, hyphens and underscores, at most 500 characters.
    reconcileSchedule: `${prefix}sp-reconcile-runs`,
    image: (key) => images.get(key) ?? null,
    repositories: () => [...new Set([...images.values()].flatMap((ref) => (ref ? [ref.repository] : [])))],
  };
  // Check the names that are only built on demand, so a bad prefix fails here and not halfway through a deploy.
  for (const identity of IDENTITIES) names.serviceAccountId(identity);
  for (const fn of DEPLOYED_FUNCTIONS) names.function(fn);
  return names;
}

function imageRef(config: PipelineConfig, key: BuiltImage): ImageRef | null {
  const { region, projectId } = config.runtime;
  const template = config.images[key];
  const uri = template.replaceAll("{region}", region).replaceAll("{project}", projectId);
  const host = `${region}-docker.pkg.dev`;
  const m = new RegExp(
    `^${escapeRegExp(host)}/${escapeRegExp(projectId)}/([^/]+)/([^:@]+)(?::([^:@/]+))?$`,
  ).exec(uri);
  if (!m) return null;
  const repository = checkName("repository", m[1]!);
  const path = `${host}/${projectId}/${repository}/${m[2]!}`;
  return {
    uri: m[3] ? uri : `${uri}:latest`,
    sourceUri: (hash) => `${path}:src-${hash}`,
    repository,
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
