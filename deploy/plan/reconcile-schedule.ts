// The Cloud Scheduler job that publishes a tick on reconcile-ticks every few minutes, so reconcile-runs checks running runs.
import { TOPICS, TOPIC_KEYS, type Principal } from "../../events/topics.ts";
import type { PlanContext } from "./context.ts";
import { keys } from "./context.ts";
import type { Resource } from "./types.ts";

/** Every 5 minutes: a job's end reaches its run within about that long even when the log sink lost the entry. */
export const RECONCILE_SCHEDULE = "*/5 * * * *";

interface SchedulerJobDescription {
  schedule?: string;
  pubsubTarget?: { topicName?: string };
}

/** The registry's topic that Cloud Scheduler publishes to. */
export function tickTopicKey() {
  const key = TOPIC_KEYS.find((k) => (TOPICS[k].publishers as readonly Principal[]).includes("scheduler"));
  if (!key) throw new Error("no topic in the registry lists scheduler as a publisher");
  return key;
}

export function reconcileScheduleResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  const topicKey = tickTopicKey();
  const topic = names.topic(topicKey);
  const location = `--location=${names.region}`;
  // What create and update both set: the schedule, the topic and the tick body.
  const target = [
    `--schedule=${RECONCILE_SCHEDULE}`,
    `--topic=projects/${names.project}/topics/${topic}`,
    "--message-body={}",
  ];
  return [
    {
      key: keys.reconcileSchedule,
      kind: "scheduler-job",
      name: names.reconcileSchedule,
      doc: `publishes a tick on ${topic} every 5 minutes: reconcile-runs tells runs whose Vertex AI job ended or overran`,
      dependsOn: [keys.apis, keys.topic(topicKey)],
      describe: g.read("scheduler", "jobs", "describe", names.reconcileSchedule, location),
      drift: (described) => {
        const d = described as SchedulerJobDescription;
        const diffs: string[] = [];
        if (d.schedule !== RECONCILE_SCHEDULE) diffs.push(`schedule ${d.schedule ?? "unset"}`);
        if (!d.pubsubTarget?.topicName?.endsWith(`/topics/${topic}`))
          diffs.push(`topic ${d.pubsubTarget?.topicName ?? "unset"}`);
        return Promise.resolve(diffs);
      },
      create: [
        g.write(
          "scheduler",
          "jobs",
          "create",
          "pubsub",
          names.reconcileSchedule,
          location,
          ...target,
          "--time-zone=Etc/UTC",
          "--description=Ticks reconcile-runs of the sentiment pipeline",
        ),
      ],
      update: [
        g.write("scheduler", "jobs", "update", "pubsub", names.reconcileSchedule, location, ...target),
      ],
      delete: [g.write("scheduler", "jobs", "delete", names.reconcileSchedule, location)],
    },
  ];
}
