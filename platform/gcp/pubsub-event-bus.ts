// The event bus over Pub/Sub (or its emulator): each event goes to the topic the registry names for its type.
import { PubSub } from "@google-cloud/pubsub";
import { encodeEvent, type WireMessage } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { deadLetterTopicId, topicForEvent, topicId, type TopicKey } from "../../events/topics.ts";
import type { EventBus } from "../ports/event-bus.ts";

export interface PubSubEventBusOptions {
  projectId: string;
  topicPrefix?: string;
  /** host:port of the emulator; the client also honours PUBSUB_EMULATOR_HOST. */
  emulatorHost?: string;
  pubsub?: PubSub;
}

export class PubSubEventBus implements EventBus {
  readonly pubsub: PubSub;
  private readonly prefix: string;

  constructor(options: PubSubEventBusOptions) {
    this.prefix = options.topicPrefix ?? "";
    this.pubsub = options.pubsub ?? new PubSub(pubsubClientOptions(options.projectId, options.emulatorHost));
  }

  async publish(event: PipelineEvent): Promise<string> {
    const message = encodeEvent(event);
    return this.send(topicId(topicForEvent(event.type), this.prefix), message);
  }

  async publishRaw(topic: TopicKey | { deadLetterOf: TopicKey }, message: WireMessage): Promise<string> {
    const id =
      typeof topic === "string"
        ? topicId(topic, this.prefix)
        : deadLetterTopicId(topic.deadLetterOf, this.prefix);
    return this.send(id, message);
  }

  private send(topic: string, message: WireMessage): Promise<string> {
    return this.pubsub.topic(topic).publishMessage({ data: message.data, attributes: message.attributes });
  }

  async close(): Promise<void> {
    await this.pubsub.close();
  }
}

/** Client options for Pub/Sub; an emulator host switches to plaintext on that address. */
export function pubsubClientOptions(
  projectId: string,
  emulatorHost?: string,
): ConstructorParameters<typeof PubSub>[0] {
  if (!emulatorHost) return { projectId };
  const [host, port] = emulatorHost.split(":");
  return {
    projectId,
    apiEndpoint: emulatorHost,
    servicePath: host,
    port: Number(port),
    emulatorMode: true,
    // Named, so the auth library does not probe the metadata server for it: the emulator needs no credentials.
    universeDomain: "googleapis.com",
  } as ConstructorParameters<typeof PubSub>[0];
}
