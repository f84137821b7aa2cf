// What a push subscription brings a function: a Pub/Sub push as a binary-mode messagePublished CloudEvent over HTTP.
import { z } from "zod";
import { PushedMessage } from "../../functions/cloud-event.ts";

/** The body of a Pub/Sub push request (and what the relay builds from a pulled message). */
export const PushBody = z.object({
  message: PushedMessage.extend({ orderingKey: z.string().optional() }).loose(),
  subscription: z.string(),
  deliveryAttempt: z.number().int().optional(),
});
export type PushBody = z.infer<typeof PushBody>;

export interface CloudEventRequest {
  headers: Record<string, string>;
  body: string;
}

export function messageIdOf(push: PushBody): string {
  return push.message.messageId ?? push.message.message_id ?? "";
}

export function publishTimeOf(push: PushBody): string {
  return push.message.publishTime ?? push.message.publish_time ?? new Date().toISOString();
}

/** Eventarc's google.cloud.pubsub.topic.v1.messagePublished: the push body as data, the topic as source. */
export function pubsubCloudEvent(push: PushBody, project: string, topic: string): CloudEventRequest {
  const id = messageIdOf(push);
  const publishTime = publishTimeOf(push);
  const message = {
    ...(push.message.attributes ? { attributes: push.message.attributes } : {}),
    data: push.message.data ?? "",
    messageId: id,
    message_id: id,
    publishTime,
    publish_time: publishTime,
    ...(push.message.orderingKey ? { orderingKey: push.message.orderingKey } : {}),
  };
  return {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "ce-specversion": "1.0",
      "ce-id": id,
      "ce-source": `//pubsub.googleapis.com/projects/${project}/topics/${topic}`,
      "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
      "ce-time": publishTime,
    },
    body: JSON.stringify({ message, subscription: push.subscription }),
  };
}
