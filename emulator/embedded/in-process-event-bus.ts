// The event bus inside one process: same envelopes and push CloudEvents as Pub/Sub, at-least-once with retries.
import { randomUUID } from "node:crypto";
import { decodeEvent, encodeEvent, type WireMessage } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { deadLetterTopicId, topicForEvent, topicId, type TopicKey } from "../../events/topics.ts";
import type { CloudEventLike } from "../../functions/cloud-event.ts";
import { PUBSUB_EVENT_TYPE } from "../../functions/cloud-event.ts";
import type { EventBus } from "../../platform/ports/event-bus.ts";
import type { DeadLetterSink } from "../../platform/ports/dead-letters.ts";
import type { Logger } from "../../platform/ports/logger.ts";

export interface Subscription {
  name: string;
  handler: (event: CloudEventLike) => Promise<void>;
  /** Deliveries before the message goes to the dead-letter sink, like a subscription's max delivery attempts. */
  maxDeliveries: number;
}

export interface InProcessEventBusOptions {
  projectId: string;
  topicPrefix?: string;
  deadLetters: DeadLetterSink;
  log: Logger;
  /** First redelivery delay; doubles per attempt (Pub/Sub's exponential retry policy). */
  retryDelayMs?: number;
}

export type Observer = (event: PipelineEvent) => void;

export class InProcessEventBus implements EventBus {
  private readonly subscriptions = new Map<string, Subscription[]>();
  private readonly observers: Observer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: InProcessEventBusOptions) {}

  subscribe(
    topic: TopicKey,
    subscription: Omit<Subscription, "maxDeliveries"> & { maxDeliveries?: number },
  ): void {
    const id = topicId(topic, this.options.topicPrefix);
    const list = this.subscriptions.get(id) ?? [];
    list.push({ maxDeliveries: 5, ...subscription });
    this.subscriptions.set(id, list);
  }

  /** Sees every pipeline event as it is published (for progress printing); must not throw. */
  observe(observer: Observer): void {
    this.observers.push(observer);
  }

  publish(event: PipelineEvent): Promise<string> {
    const message = encodeEvent(event);
    for (const o of this.observers) o(event);
    return Promise.resolve(
      this.deliver(topicId(topicForEvent(event.type), this.options.topicPrefix), message),
    );
  }

  publishRaw(topic: TopicKey | { deadLetterOf: TopicKey }, message: WireMessage): Promise<string> {
    const id =
      typeof topic === "string"
        ? topicId(topic, this.options.topicPrefix)
        : deadLetterTopicId(topic.deadLetterOf, this.options.topicPrefix);
    if (typeof topic !== "string") {
      return this.options.deadLetters
        .keep({
          source: id,
          messageId: randomUUID(),
          data: message.data,
          attributes: message.attributes,
          reason: "published to the dead-letter topic",
          receivedAt: new Date().toISOString(),
        })
        .then(() => id);
    }
    // Observers see well-formed events only.
    try {
      const event = decodeEvent(message.data);
      for (const o of this.observers) o(event);
    } catch {
      /* malformed on purpose: subscribers will dead-letter it */
    }
    return Promise.resolve(this.deliver(id, message));
  }

  /** Resolves once no delivery is in flight (including retries and what handlers publish meanwhile). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    this.closed = true;
  }

  private deliver(topic: string, message: WireMessage): string {
    const messageId = randomUUID();
    const publishTime = new Date().toISOString();
    for (const sub of this.subscriptions.get(topic) ?? []) {
      const p = this.deliverTo(topic, sub, message, messageId, publishTime).finally(() =>
        this.inFlight.delete(p),
      );
      this.inFlight.add(p);
    }
    return messageId;
  }

  private async deliverTo(
    topic: string,
    sub: Subscription,
    message: WireMessage,
    messageId: string,
    publishTime: string,
  ): Promise<void> {
    const cloudEvent: CloudEventLike = {
      id: messageId,
      type: PUBSUB_EVENT_TYPE,
      source: `//pubsub.googleapis.com/projects/${this.options.projectId}/topics/${topic}`,
      time: publishTime,
      data: {
        message: {
          data: message.data.toString("base64"),
          attributes: message.attributes,
          messageId,
          publishTime,
        },
        subscription: `projects/${this.options.projectId}/subscriptions/${sub.name}`,
      },
    };
    const base = this.options.retryDelayMs ?? 20;
    for (let attempt = 1; ; attempt++) {
      // Asynchronous like the real thing: a publisher never runs its subscribers' code on its own stack.
      await new Promise((r) => setImmediate(r));
      if (this.closed) return;
      try {
        await sub.handler(cloudEvent);
        return;
      } catch (err) {
        if (attempt >= sub.maxDeliveries) {
          this.options.log.error(
            `${sub.name}: giving up on message ${messageId} after ${attempt} deliveries`,
            { error: err },
          );
          await this.options.deadLetters.keep({
            source: topic,
            messageId,
            data: message.data,
            attributes: message.attributes,
            reason: `delivery failed ${attempt} times: ${(err as Error).message}`,
            receivedAt: new Date().toISOString(),
          });
          return;
        }
        this.options.log.warn(
          `${sub.name}: delivery ${attempt} of message ${messageId} failed, redelivering: ${(err as Error).message}`,
        );
        await new Promise((r) => setTimeout(r, base * 2 ** (attempt - 1)));
      }
    }
  }
}
