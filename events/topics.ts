// The topic registry: each topic, what travels on it, who publishes and who consumes. deploy/ reads this too.
import type { EventType } from "./catalogue.ts";

/** Who may publish or consume: a function, a job kind, the log sink or a person. */
export type Principal =
  | "fn:start-run"
  | "fn:advance-run"
  | "fn:retrigger-run"
  | "fn:watch-jobs"
  | "job:prepare"
  | "job:tune"
  | "job:train"
  | "job:evaluate"
  | "log-sink"
  | "storage-agent"
  | "scheduler"
  | "fn:reconcile-runs"
  | "user";

export type FunctionName = "start-run" | "advance-run" | "retrigger-run" | "watch-jobs" | "reconcile-runs";

/** Functions that watch runs without steering them: the per-run event log, MLflow tracking, the HTML report. */
export type ObserverName = "log-run-events" | "track-run" | "report-run";

export interface TopicDef {
  /** Topic id without the configured prefix. */
  readonly id: string;
  /**
   * The pipeline event carried, "job-state" for Cloud Logging entries from the sink, "tick" for Cloud Scheduler's,
   * or "object-notification" for Cloud Storage's Pub/Sub notifications of the bucket's uploads/
   * (events/object-notification.ts).
   */
  readonly carries: EventType | "job-state" | "tick" | "object-notification";
  readonly publishers: readonly Principal[];
  /** Functions with a push subscription on this topic. Topics without consumers are for observers (CLI, tracker). */
  readonly consumers: readonly FunctionName[];
  /**
   * Observer functions with a push subscription on this topic. They never publish or change run state; a
   * deployment without them still runs the pipeline, only without event logs, tracking and reports.
   */
  readonly observers?: readonly ObserverName[];
  readonly doc: string;
}

export const TOPICS = {
  // A bucket notification limited to uploads/ and OBJECT_FINALIZE: writes elsewhere in the bucket invoke nothing.
  uploadNotifications: {
    id: "upload-notifications",
    carries: "object-notification",
    publishers: ["storage-agent"],
    consumers: ["start-run"],
    doc: "Cloud Storage's notification of each upload finalized under uploads/",
  },
  runStarted: {
    id: "run-started",
    carries: "run.started",
    publishers: ["fn:start-run"],
    consumers: ["advance-run"],
    observers: ["log-run-events", "track-run"],
    doc: "an upload started a run",
  },
  dataPrepared: {
    id: "data-prepared",
    carries: "data.prepared",
    publishers: ["job:prepare"],
    consumers: ["advance-run"],
    observers: ["log-run-events"],
    doc: "splits, stats and rejected rows are in the run folder",
  },
  tuningCompleted: {
    id: "tuning-completed",
    carries: "tuning.completed",
    publishers: ["job:tune"],
    consumers: ["advance-run"],
    observers: ["log-run-events"],
    doc: "the Optuna study finished; best parameters attached",
  },
  trainingCompleted: {
    id: "training-completed",
    carries: "training.completed",
    publishers: ["job:train"],
    consumers: ["advance-run"],
    observers: ["log-run-events"],
    doc: "a model was trained and exported to ONNX",
  },
  evaluationCompleted: {
    id: "evaluation-completed",
    carries: "evaluation.completed",
    publishers: ["job:evaluate"],
    consumers: ["advance-run"],
    observers: ["log-run-events", "track-run"],
    doc: "test metrics, slices and the champion comparison are in the run folder",
  },
  modelRegistered: {
    id: "model-registered",
    carries: "model.registered",
    publishers: ["fn:advance-run"],
    consumers: ["advance-run"],
    observers: ["log-run-events"],
    doc: "the model is a new version in the registry and holds the champion alias",
  },
  runRetriggered: {
    id: "run-retriggered",
    carries: "run.retriggered",
    publishers: ["fn:advance-run", "fn:retrigger-run"],
    consumers: [],
    observers: ["log-run-events", "track-run"],
    doc: "a rule or a person restarted the run from a step",
  },
  runCompleted: {
    id: "run-completed",
    carries: "run.completed",
    publishers: ["fn:advance-run", "fn:retrigger-run"],
    consumers: [],
    observers: ["log-run-events", "track-run", "report-run"],
    doc: "the run reached an outcome",
  },
  jobFailed: {
    id: "job-failed",
    carries: "job.failed",
    publishers: [
      "fn:watch-jobs",
      "fn:reconcile-runs",
      "job:prepare",
      "job:tune",
      "job:train",
      "job:evaluate",
    ],
    consumers: ["advance-run"],
    observers: ["log-run-events"],
    doc: "a job failed; bounded retry or the run fails",
  },
  jobProgress: {
    id: "job-progress",
    carries: "job.progress",
    publishers: ["job:prepare", "job:tune", "job:train", "job:evaluate"],
    consumers: [],
    observers: ["log-run-events"],
    doc: "trials, epochs and batches as they happen, for watchers",
  },
  retriggerRequests: {
    id: "retrigger-requests",
    carries: "retrigger.requested",
    publishers: ["user"],
    consumers: ["retrigger-run"],
    doc: "what a person publishes to restart a run from a step",
  },
  jobStates: {
    id: "job-states",
    carries: "job-state",
    publishers: ["log-sink"],
    consumers: ["watch-jobs"],
    doc: "Vertex AI custom job state entries routed by a Cloud Logging sink",
  },
  reconcileTicks: {
    id: "reconcile-ticks",
    carries: "tick",
    publishers: ["scheduler"],
    consumers: ["reconcile-runs"],
    doc: "Cloud Scheduler's tick every few minutes: reconcile-runs checks every running run's job",
  },
} as const satisfies Record<string, TopicDef>;

export type TopicKey = keyof typeof TOPICS;
export const TOPIC_KEYS = Object.keys(TOPICS) as TopicKey[];

/** Topic id with the configured prefix applied. */
export function topicId(key: TopicKey, prefix = ""): string {
  return `${prefix}${TOPICS[key].id}`;
}

/** Dead-letter topic id of a topic: malformed and undeliverable messages are kept here. */
export function deadLetterTopicId(key: TopicKey, prefix = ""): string {
  return `${topicId(key, prefix)}-dead-letter`;
}

/** The topic an event type travels on. */
export function topicForEvent(type: EventType): TopicKey {
  const key = TOPIC_KEYS.find((k) => TOPICS[k].carries === type);
  if (!key) throw new Error(`no topic carries ${type}`);
  return key;
}

/** The topic a function consumes; each function listens on the topics whose consumers name it. */
export function topicsConsumedBy(fn: FunctionName): TopicKey[] {
  return TOPIC_KEYS.filter((k) => (TOPICS[k].consumers as readonly string[]).includes(fn));
}

/** The topics an observer function listens on. */
export function topicsObservedBy(fn: ObserverName): TopicKey[] {
  return TOPIC_KEYS.filter((k) => ((TOPICS[k] as TopicDef).observers ?? []).includes(fn));
}

/** Every function a topic delivers to: its consumers, which move runs, and its observers, which only watch. */
export type SubscriberName = FunctionName | ObserverName;

/** The topics that deliver to a function, whichever role it has on them. */
export function topicsDeliveredTo(name: SubscriberName): TopicKey[] {
  return TOPIC_KEYS.filter((k) => {
    const t = TOPICS[k] as TopicDef;
    return (
      (t.consumers as readonly string[]).includes(name) || (t.observers ?? []).includes(name as ObserverName)
    );
  });
}
