// Deployment settings the pipeline config does not hold: function sizes, delivery policy, APIs, labels.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { deepMerge, isPlainObject } from "../schemas/load-config.ts";
import { ENTRY_POINTS as EVENT_ENTRY_POINTS } from "../functions/register.ts";

/**
 * The event functions: every CloudEvent entry point functions/register.ts registers, that is the registry's routers
 * (start-run, advance-run, retrigger-run, watch-jobs) and its observers (log-run-events, track-run, report-run).
 */
export type EventFunction = keyof typeof EVENT_ENTRY_POINTS;
export const EVENT_FUNCTIONS = Object.keys(EVENT_ENTRY_POINTS) as readonly EventFunction[];

/** The deployed functions: the event functions and the HTTP prediction endpoint. */
export type DeployedFunction = EventFunction | "predict";
export const DEPLOYED_FUNCTIONS: readonly DeployedFunction[] = [...EVENT_FUNCTIONS, "predict"];

/** Whether a deployed function is fed by Pub/Sub push or Eventarc (and not called over HTTP by people). */
export function isEventFunction(fn: DeployedFunction): fn is EventFunction {
  return fn in EVENT_ENTRY_POINTS;
}

/** Entry points registered by functions/index.ts: the event functions' from register.ts, and the HTTP `predict`. */
export const ENTRY_POINTS: Record<DeployedFunction, string> = { ...EVENT_ENTRY_POINTS, predict: "predict" };

export const FunctionSettings = z.strictObject({
  /** Cloud Run memory limit, e.g. 512Mi or 2Gi. */
  memory: z.string().regex(/^\d+(Mi|Gi)$/, "memory like 512Mi or 2Gi"),
  /** vCPUs; concurrency above 1 needs at least one. */
  cpu: z
    .string()
    .regex(/^(\d+(\.\d+)?|\d+m)$/, "cpu like 1, 2 or 500m")
    .optional(),
  timeoutSeconds: z.number().int().min(1).max(3600),
  maxInstances: z.number().int().min(1).max(1000),
  concurrency: z.number().int().min(1).max(1000).default(1),
});
export type FunctionSettings = z.infer<typeof FunctionSettings>;

export const DeliverySettings = z
  .strictObject({
    /** Pub/Sub waits this long for a push answer; never shorter than the consumer's timeout (capped at 600 s). */
    minAckDeadlineSeconds: z.number().int().min(10).max(600).default(60),
    minRetryDelaySeconds: z.number().int().min(0).max(600).default(10),
    maxRetryDelaySeconds: z.number().int().min(0).max(600).default(600),
    /** After this many failed deliveries a message moves to the topic's dead-letter topic (Pub/Sub allows 5-100). */
    maxDeliveryAttempts: z.number().int().min(5).max(100).default(5),
    /** How long the dead-letter hold subscriptions keep messages (Pub/Sub allows up to 7 days). */
    deadLetterRetentionDays: z.number().int().min(1).max(7).default(7),
  })
  .refine(
    (d) => d.minRetryDelaySeconds <= d.maxRetryDelaySeconds,
    "minRetryDelaySeconds must not exceed maxRetryDelaySeconds",
  );
export type DeliverySettings = z.infer<typeof DeliverySettings>;

export const DeploySettings = z.strictObject({
  runtime: z.string().regex(/^nodejs\d+$/),
  /** One entry per deployed function. */
  functions: z.strictObject(
    Object.fromEntries(DEPLOYED_FUNCTIONS.map((fn) => [fn, FunctionSettings])) as Record<
      DeployedFunction,
      typeof FunctionSettings
    >,
  ),
  delivery: DeliverySettings,
  /** APIs the deployment uses; enabling one that is on changes nothing. */
  apis: z.array(z.string().regex(/^[a-z0-9.-]+\.googleapis\.com$/)).min(1),
  /** Labels put on every resource that takes labels. */
  labels: z.record(z.string(), z.string()),
});
export type DeploySettings = z.infer<typeof DeploySettings>;

/** The defaults; a settings file overrides any part of them, key by key. */
export const DEFAULT_DEPLOY_SETTINGS: z.input<typeof DeploySettings> = {
  runtime: "nodejs22",
  functions: {
    "start-run": { memory: "512Mi", timeoutSeconds: 60, maxInstances: 10 },
    // advance-run uploads the model to the registry on promotion: give it time and memory.
    "advance-run": { memory: "1Gi", timeoutSeconds: 300, maxInstances: 20 },
    "retrigger-run": { memory: "512Mi", timeoutSeconds: 120, maxInstances: 5 },
    "watch-jobs": { memory: "512Mi", timeoutSeconds: 60, maxInstances: 10 },
    // reconcile-runs reads every running run's state and asks Vertex for its job, once per scheduler tick.
    "reconcile-runs": { memory: "512Mi", timeoutSeconds: 300, maxInstances: 1 },
    // log-run-events writes one object per event under runs/RUN/events/, a few hundred times a run.
    "log-run-events": { memory: "512Mi", timeoutSeconds: 60, maxInstances: 10 },
    // track-run makes a handful of MLflow REST calls per event, each allowed 10 s.
    "track-run": { memory: "512Mi", timeoutSeconds: 120, maxInstances: 5 },
    // report-run renders the report's Vega-Lite charts in Node once per completed run, CPU-bound; 1 GiB leaves room
    // for large runs (one render of the report tests' fixture run peaked at 165 MiB RSS).
    "report-run": { memory: "1Gi", cpu: "1", timeoutSeconds: 120, maxInstances: 5 },
    // predict batches concurrent requests into one ONNX run, so one instance takes many at once.
    predict: { memory: "2Gi", cpu: "2", timeoutSeconds: 60, maxInstances: 10, concurrency: 32 },
  },
  delivery: {},
  apis: [
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ],
  labels: { app: "sentiment-pipeline" },
};

/** Reads a settings file (any subset of the settings) or returns the defaults; errors name the file and path. */
export function loadDeploySettings(file?: string): DeploySettings {
  let raw: unknown = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`deploy settings ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (!isPlainObject(raw)) throw new Error(`deploy settings ${file}: must hold a JSON object`);
  }
  return parseDeploySettings(raw as Record<string, unknown>, file);
}

/** Applies overrides over the defaults and validates the result. */
export function parseDeploySettings(
  overrides: Record<string, unknown> = {},
  source?: string,
): DeploySettings {
  const merged = deepMerge(DEFAULT_DEPLOY_SETTINGS, overrides);
  const parsed = DeploySettings.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`deploy settings${source ? ` ${source}` : ""}:\n${issues.join("\n")}`);
  }
  return parsed.data;
}
