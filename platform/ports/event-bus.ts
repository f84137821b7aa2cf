// The event bus port: publish a pipeline event to the topic that carries it.
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { TopicKey } from "../../events/topics.ts";
import type { WireMessage } from "../../events/codec.ts";

export interface EventBus {
  /** Publishes to the topic registered for the event's type; resolves with the message id once accepted. */
  publish(event: PipelineEvent): Promise<string>;
  /** Publishes bytes as they are, for dead letters and tests of malformed input. */
  publishRaw(topic: TopicKey | { deadLetterOf: TopicKey }, message: WireMessage): Promise<string>;
}
