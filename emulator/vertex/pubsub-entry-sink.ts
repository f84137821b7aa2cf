// Publishes job state log entries to the job-states topic exactly as a Cloud Logging sink does: the LogEntry JSON as data.
import { PubSub, type Topic } from "@google-cloud/pubsub";
import { SINK_TIMESTAMP_ATTRIBUTE, type JobStateLogEntry } from "../../events/job-state.ts";
import { topicId } from "../../events/topics.ts";
import { pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";

export class PubSubEntrySink {
  private readonly pubsub: PubSub;
  private readonly topic: Topic;

  constructor(options: { projectId: string; emulatorHost: string; topicPrefix?: string }) {
    this.pubsub = new PubSub(pubsubClientOptions(options.projectId, options.emulatorHost));
    this.topic = this.pubsub.topic(topicId("jobStates", options.topicPrefix ?? ""), {
      batching: { maxMessages: 1 },
    });
  }

  async publish(entry: JobStateLogEntry): Promise<void> {
    await this.topic.publishMessage({
      data: Buffer.from(JSON.stringify(entry)),
      attributes: { [SINK_TIMESTAMP_ATTRIBUTE]: entry.timestamp },
    });
  }

  async close(): Promise<void> {
    await this.pubsub.close();
  }
}
