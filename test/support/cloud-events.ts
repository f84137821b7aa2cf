// CloudEvents as Pub/Sub pushes arrive over HTTP (structured mode), for function tests through the test server.
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import request from "supertest";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { encodeEvent } from "../../events/codec.ts";
import { finalizeNotification } from "../../events/object-notification.ts";

export function pubsubPush(
  data: Buffer | string,
  attributes: Record<string, string> = {},
  topic = "data-prepared",
) {
  const messageId = randomUUID();
  return {
    specversion: "1.0",
    id: messageId,
    type: "google.cloud.pubsub.topic.v1.messagePublished",
    source: `//pubsub.googleapis.com/projects/test-project/topics/${topic}`,
    time: new Date().toISOString(),
    datacontenttype: "application/json",
    data: {
      message: {
        data: Buffer.from(data).toString("base64"),
        attributes,
        messageId,
        publishTime: new Date().toISOString(),
      },
      subscription: `projects/test-project/subscriptions/${topic}--advance-run`,
    },
  };
}

export function eventPush(event: PipelineEvent) {
  const { data, attributes } = encodeEvent(event);
  return pubsubPush(data, attributes);
}

/** Cloud Storage's Pub/Sub notification of a finalized object (payload JSON_API_V1), as a push delivers it. */
export function uploadNotification(
  bucket: string,
  name: string,
  generation = "1700000000000001",
  eventTime = new Date().toISOString(),
  metadata?: Record<string, string>,
) {
  const { data, attributes } = finalizeNotification({
    bucket,
    name,
    generation,
    size: 123,
    updated: eventTime,
    ...(metadata ? { metadata } : {}),
  });
  return pubsubPush(data, attributes, "upload-notifications");
}

export async function post(server: Server, cloudEvent: object): Promise<number> {
  const res = await request(server)
    .post("/")
    .set("Content-Type", "application/cloudevents+json")
    .send(JSON.stringify(cloudEvent));
  return res.status;
}
