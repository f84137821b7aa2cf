// What every part of the plan builder reads: names, settings, config, the gcloud shape and the shared keys.
import type { PipelineConfig } from "../../schemas/config.ts";
import type { TopicKey } from "../../events/topics.ts";
import type { BuiltImage, DeploymentNames, Identity } from "../names.ts";
import type { DeploySettings, DeployedFunction } from "../settings.ts";
import type { Gcloud } from "./commands.ts";
import { placeholder } from "./types.ts";

export interface PlanInput {
  config: PipelineConfig;
  settings: DeploySettings;
  /** Content hashes: a changed source or setting redeploys, an unchanged one changes nothing. */
  sourceHashes: { functions: string; images: Record<BuiltImage, string> };
  /** Folder (relative to the repository root) that holds the staged functions source. */
  stageDir: string;
  /** Extra publishers on topics whose registry entry names "user", e.g. `user:ana@example.com`. */
  retriggerMembers: readonly string[];
  /** Leave image builds out (images built elsewhere). */
  skipImages: boolean;
  /** The local command that stages the functions' source (shown in the dry run; the executor calls it in-process). */
  stageCommand: readonly string[];
}

export interface PlanContext {
  input: PlanInput;
  config: PipelineConfig;
  settings: DeploySettings;
  names: DeploymentNames;
  g: Gcloud;
}

/** Resource keys, so parts of the plan can depend on each other without repeating string shapes. */
export const keys = {
  apis: "apis",
  bucket: "bucket",
  folder: (path: string) => `folder/${path}`,
  serviceAccount: (identity: Identity) => `service-account/${identity}`,
  topic: (key: TopicKey) => `topic/${key}`,
  deadLetterTopic: (key: TopicKey) => `dead-letter-topic/${key}`,
  subscription: (key: TopicKey, fn: string) => `subscription/${key}/${fn}`,
  deadLetterHold: (key: TopicKey) => `dead-letter-hold/${key}`,
  fn: (fn: DeployedFunction) => `function/${fn}`,
  notification: "notification/uploads",
  secret: (id: string) => `secret/${id}`,
  sink: "sink/job-states",
  reconcileSchedule: "scheduler-job/reconcile",
  repository: (name: string) => `repository/${name}`,
  image: (key: BuiltImage) => `image/${key}`,
};

/** Plan variables, as placeholders inside arguments. */
export const vars = {
  projectNumber: "PROJECT_NUMBER",
  sinkWriter: "SINK_WRITER",
  storageAgent: "STORAGE_AGENT",
  uploadNotification: "UPLOAD_NOTIFICATION",
  functionUrl: (fn: DeployedFunction) => `URL_${fn.toUpperCase().replace(/-/g, "_")}`,
};

export const ref = placeholder;

/** The Pub/Sub service agent: it moves undeliverable messages to dead-letter topics and signs pushes. */
export const pubsubAgent = (): string =>
  `serviceAccount:service-${ref(vars.projectNumber)}@gcp-sa-pubsub.iam.gserviceaccount.com`;
