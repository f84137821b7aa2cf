// The Cloud Logging sink that routes Vertex AI custom job state entries to the job-states topic, and its publisher grant.
import { JOB_STATE_SINK_FILTER } from "../../events/job-state.ts";
import { TOPICS, TOPIC_KEYS, type Principal } from "../../events/topics.ts";
import type { PlanContext } from "./context.ts";
import { keys, ref, vars } from "./context.ts";
import { iamBinding, resourcePolicy } from "./commands.ts";
import type { PlanVariable, Resource } from "./types.ts";

/**
 * Vertex AI custom jobs log under the `ml_job` resource type; the service's own entries (provisioning, running,
 * succeeded, failed, cancelled) carry the task name `service`. The filter lives with the entry shape watch-jobs
 * decodes (events/job-state.ts), so the two cannot drift apart.
 */
export const JOB_STATE_LOG_FILTER = JOB_STATE_SINK_FILTER;

interface SinkDescription {
  destination?: string;
  filter?: string;
}

/** The registry's topic that the log sink publishes to. */
export function sinkTopicKey() {
  const key = TOPIC_KEYS.find((k) => (TOPICS[k].publishers as readonly Principal[]).includes("log-sink"));
  if (!key) throw new Error("no topic in the registry lists log-sink as a publisher");
  return key;
}

export function jobStateSinkResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  const topicKey = sinkTopicKey();
  const destination = `pubsub.googleapis.com/projects/${names.project}/topics/${names.topic(topicKey)}`;
  const sink: Resource = {
    key: keys.sink,
    kind: "sink",
    name: names.jobStateSink,
    nameKind: "sink",
    doc: `routes Vertex AI custom job state entries to ${names.topic(topicKey)}`,
    dependsOn: [keys.apis, keys.topic(topicKey)],
    describe: g.read("logging", "sinks", "describe", names.jobStateSink),
    drift: (described) => {
      const d = described as SinkDescription;
      const diffs: string[] = [];
      if (d.destination !== destination) diffs.push(`destination ${d.destination ?? "unset"}`);
      if (d.filter !== JOB_STATE_LOG_FILTER) diffs.push("log filter changed");
      return Promise.resolve(diffs);
    },
    create: [
      g.write(
        "logging",
        "sinks",
        "create",
        names.jobStateSink,
        destination,
        `--log-filter=${JOB_STATE_LOG_FILTER}`,
        "--description=Vertex AI custom job states for the sentiment pipeline's watch-jobs function",
      ),
    ],
    update: [
      g.write(
        "logging",
        "sinks",
        "update",
        names.jobStateSink,
        destination,
        `--log-filter=${JOB_STATE_LOG_FILTER}`,
      ),
    ],
    delete: [g.write("logging", "sinks", "delete", names.jobStateSink)],
  };
  const writer = iamBinding({
    member: ref(vars.sinkWriter),
    role: "roles/pubsub.publisher",
    target: resourcePolicy(g, keys.topic(topicKey), ["pubsub", "topics"], names.topic(topicKey)),
    doc: `lets the sink's writer identity publish on ${names.topic(topicKey)} (registry: log-sink publishes ${topicKey})`,
    dependsOn: [keys.sink],
  });
  return [sink, writer];
}

export function sinkWriterVariable(ctx: PlanContext): PlanVariable {
  const { g, names } = ctx;
  return {
    name: vars.sinkWriter,
    // writerIdentity already reads `serviceAccount:...`.
    command: g.read("logging", "sinks", "describe", names.jobStateSink, "--format=value(writerIdentity)"),
    dependsOn: [keys.sink],
    doc: "the identity the log sink writes with",
  };
}
