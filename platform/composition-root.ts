// The one place that picks adapters by mode: local folders in embedded mode, the emulators or Google Cloud otherwise.
import { join, resolve } from "node:path";
import type { PipelineConfig } from "../schemas/config.ts";
import type { ObjectStore } from "./ports/object-store.ts";
import type { EventBus } from "./ports/event-bus.ts";
import { GcsObjectStore } from "./gcp/gcs-object-store.ts";
import { PubSubEventBus } from "./gcp/pubsub-event-bus.ts";
import { LocalObjectStore } from "./local/local-object-store.ts";
import { OutboxEventBus } from "./local/outbox-event-bus.ts";
import { LocalModelRegistry } from "./local/local-model-registry.ts";
import { lineFromModelMetadata } from "./local/legacy-registry-migration.ts";
import type { ModelRegistry } from "./ports/model-registry.ts";
import { z } from "zod";
import { JobStep } from "../schemas/names.ts";
import { ObjectStoreRunLedger } from "./gcp/object-store-run-ledger.ts";
import { vertexJobLauncherFromConfig } from "./gcp/vertex-job-launcher.ts";
import { vertexModelRegistryFromConfig } from "./gcp/vertex-model-registry.ts";
import { PubSubDeadLetterSink } from "./gcp/pubsub-dead-letters.ts";
import { JsonLogger } from "./json-logger.ts";
import { systemClock } from "./ports/clock.ts";
import type { RunLedger } from "./ports/run-ledger.ts";
import type { JobLauncher } from "./ports/job-launcher.ts";
import type { DeadLetterSink } from "./ports/dead-letters.ts";
import type { Logger } from "./ports/logger.ts";
import type { Clock } from "./ports/clock.ts";
import { LocalRunLedger } from "./local/local-run-ledger.ts";
import { LocalDeadLetterSink } from "./local/local-dead-letters.ts";

/** Folder that holds the embedded bucket. */
export function localBucketRoot(config: PipelineConfig): string {
  return resolve(config.runtime.localRoot, "bucket");
}

/** Folder of the embedded model registry, beside the bucket. */
export function localRegistryRoot(config: PipelineConfig): string {
  return resolve(config.runtime.localRoot, "registry");
}

/** Folder of the embedded dead letters, beside the bucket. */
export function localDeadLettersRoot(config: PipelineConfig): string {
  return join(resolve(config.runtime.localRoot), "dead-letters");
}

export function createObjectStore(config: PipelineConfig): ObjectStore {
  const { mode, bucket, projectId, storageEmulatorEndpoint } = config.runtime;
  if (mode === "embedded") return new LocalObjectStore(bucket, localBucketRoot(config));
  if (mode === "emulators" && !storageEmulatorEndpoint) {
    throw new Error("emulators mode needs STORAGE_EMULATOR_ENDPOINT (the Cloud Storage emulator's URL)");
  }
  return new GcsObjectStore({
    bucket,
    projectId,
    ...(mode === "emulators" && storageEmulatorEndpoint ? { apiEndpoint: storageEmulatorEndpoint } : {}),
  });
}

/** The run ledger: files with a lock in embedded mode, the bucket's state.json with ifGenerationMatch otherwise. */
export function createRunLedger(config: PipelineConfig, store: ObjectStore): RunLedger {
  if (config.runtime.mode === "embedded") return new LocalRunLedger(localBucketRoot(config));
  return new ObjectStoreRunLedger(store);
}

/** A job's bus: the outbox file its local launcher named, else Pub/Sub (the emulator's when configured). */
export function createJobEventBus(config: PipelineConfig, env: NodeJS.ProcessEnv = process.env): EventBus {
  if (env.SP_OUTBOX) return new OutboxEventBus(env.SP_OUTBOX);
  if (config.runtime.mode === "embedded") {
    throw new Error("embedded jobs publish through an outbox: SP_OUTBOX is not set");
  }
  return new PubSubEventBus({
    projectId: config.runtime.projectId,
    topicPrefix: config.runtime.topicPrefix,
    ...(config.runtime.pubsubEmulatorHost ? { emulatorHost: config.runtime.pubsubEmulatorHost } : {}),
  });
}

/** The model registry: a local folder in embedded mode, Vertex AI Model Registry (or its stand-in) otherwise. */
export function createModelRegistry(config: PipelineConfig): ModelRegistry {
  if (config.runtime.mode === "embedded")
    return localModelRegistry(config, new LocalObjectStore(config.runtime.bucket, localBucketRoot(config)));
  return vertexModelRegistryFromConfig(config);
}

/** Step -> service account, as deploy sets it (SP_JOB_SERVICE_ACCOUNTS); each job runs as its own account. */
export const JobServiceAccounts = z.partialRecord(JobStep, z.email());

/** Every port, wired: what the deployed functions take (functions/register.ts's FunctionDeps is this shape). */
export interface PlatformDeps {
  config: PipelineConfig;
  store: ObjectStore;
  bus: EventBus;
  ledger: RunLedger;
  launcher: JobLauncher;
  registry: ModelRegistry;
  deadLetters: DeadLetterSink;
  log: Logger;
  clock: Clock;
}

/**
 * The embedded registry folder; a registry written before model lines is migrated into the lines its models' base
 * models give (read from the model folders in the local bucket).
 */
export function localModelRegistry(
  config: PipelineConfig,
  store: LocalObjectStore,
  log?: Logger,
): LocalModelRegistry {
  return new LocalModelRegistry(localRegistryRoot(config), config.runtime.registryModelName, {
    legacyLineOf: lineFromModelMetadata((uri) => store.read(uri), config.data.labels),
    ...(log ? { log } : {}),
  });
}

/**
 * The embedded mode's stores: the bucket, ledger, registry and dead letters as local folders. Its bus and job launcher
 * stand in for Pub/Sub and Vertex AI, so the embedded runtime (emulator/embedded/runtime.ts) adds those.
 */
export function createEmbeddedAdapters(
  config: PipelineConfig,
  log?: Logger,
): {
  store: LocalObjectStore;
  ledger: LocalRunLedger;
  registry: LocalModelRegistry;
  deadLetters: LocalDeadLetterSink;
} {
  if (config.runtime.mode !== "embedded")
    throw new Error(`the embedded adapters need runtime.mode embedded, not ${config.runtime.mode}`);
  const store = new LocalObjectStore(config.runtime.bucket, localBucketRoot(config));
  return {
    store,
    ledger: new LocalRunLedger(localBucketRoot(config)),
    registry: localModelRegistry(config, store, log),
    deadLetters: new LocalDeadLetterSink(localDeadLettersRoot(config)),
  };
}

/**
 * Everything the deployed functions need, for the emulators and Google Cloud (in embedded mode the functions run in
 * process: emulator/embedded/runtime.ts wires them over createEmbeddedAdapters).
 */
export function createFunctionDeps(
  config: PipelineConfig,
  env: NodeJS.ProcessEnv = process.env,
): PlatformDeps {
  if (config.runtime.mode === "embedded") {
    throw new Error("embedded mode runs the functions in process: use EmbeddedRuntime (npm run demo)");
  }
  const store = createObjectStore(config);
  const bus = new PubSubEventBus({
    projectId: config.runtime.projectId,
    topicPrefix: config.runtime.topicPrefix,
    ...(config.runtime.pubsubEmulatorHost ? { emulatorHost: config.runtime.pubsubEmulatorHost } : {}),
  });
  const accounts = env.SP_JOB_SERVICE_ACCOUNTS
    ? JobServiceAccounts.parse(JSON.parse(env.SP_JOB_SERVICE_ACCOUNTS))
    : undefined;
  return {
    config,
    store,
    bus,
    ledger: new ObjectStoreRunLedger(store),
    launcher: vertexJobLauncherFromConfig(config, accounts),
    registry: vertexModelRegistryFromConfig(config),
    deadLetters: new PubSubDeadLetterSink(bus, store, config.runtime.topicPrefix),
    log: new JsonLogger(),
    clock: systemClock,
  };
}
