// Unwraps the CloudEvents functions receive: Pub/Sub pushes (messagePublished), bucket notifications among them.
import { z } from "zod";
import { MalformedMessageError, formatIssues } from "../events/codec.ts";
import { ObjectNotificationAttributes, ObjectResource } from "../events/object-notification.ts";

/** The part of a CloudEvent the handlers read; functions-framework's CloudEvent satisfies it. */
export interface CloudEventLike {
  id?: string;
  type?: string;
  source?: string;
  time?: string;
  data?: unknown;
}

export interface ReceivedMessage {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
  /** The emulator does not always set it. */
  publishTime?: string;
}

/** A Pub/Sub message as a push delivers it (both spellings: the REST JSON's camelCase and the older snake_case). */
export const PushedMessage = z.object({
  data: z.string().optional(),
  attributes: z.record(z.string(), z.string()).nullish(),
  messageId: z.string().optional(),
  message_id: z.string().optional(),
  publishTime: z.string().optional(),
  publish_time: z.string().optional(),
});

const PubSubPush = z.object({
  message: PushedMessage,
  subscription: z.string().optional(),
});

export const PUBSUB_EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished";

/** The Pub/Sub message inside a push CloudEvent; anything else is malformed. */
export function unwrapPubSub(event: CloudEventLike): ReceivedMessage {
  const parsed = PubSubPush.safeParse(event.data);
  if (!parsed.success) throw new MalformedMessageError(`not a Pub/Sub push: ${formatIssues(parsed.error)}`);
  const m = parsed.data.message;
  const messageId = m.messageId ?? m.message_id ?? event.id;
  if (!messageId) throw new MalformedMessageError("Pub/Sub push without a message id");
  const publishTime = m.publishTime ?? m.publish_time ?? event.time;
  return {
    data: Buffer.from(m.data ?? "", "base64"),
    attributes: m.attributes ?? {},
    messageId,
    ...(publishTime ? { publishTime } : {}),
  };
}

/** What start-run reads of a notification: the object, the event kind, and when Cloud Storage sent it. */
export interface ObjectNotification {
  eventType: ObjectNotificationAttributes["eventType"];
  bucket: string;
  name: string;
  generation: string;
  /** The event's time (the eventTime attribute), else the message's publish time; null when neither is known. */
  time: string | null;
  /** The upload as `gs://BUCKET/NAME#GENERATION`, for logs and dead letters. */
  upload: string;
  /** The object's custom metadata from the JSON_API_V1 payload ({} when it has none); null when the payload is NONE. */
  metadata: Record<string, unknown> | null;
}

/**
 * A Cloud Storage Pub/Sub notification, pushed as a messagePublished CloudEvent: the attributes say which object and
 * what happened, the JSON_API_V1 payload is the object resource. Anything else is malformed, and so is a payload
 * that names another object than its attributes.
 */
export function objectNotification(event: CloudEventLike): ObjectNotification {
  if (event.type !== PUBSUB_EVENT_TYPE)
    throw new MalformedMessageError(
      `not a bucket notification: CloudEvent type ${JSON.stringify(event.type ?? "")}, expected ${PUBSUB_EVENT_TYPE}`,
    );
  const msg = unwrapPubSub(event);
  const attrs = ObjectNotificationAttributes.safeParse(msg.attributes);
  if (!attrs.success)
    throw new MalformedMessageError(`bucket notification attributes: ${formatIssues(attrs.error)}`);
  const a = attrs.data;
  const upload = `gs://${a.bucketId}/${a.objectId}#${a.objectGeneration}`;
  let metadata: Record<string, unknown> | null = null;
  if (a.payloadFormat === "JSON_API_V1" && a.eventType !== "OBJECT_DELETE") {
    let json: unknown;
    try {
      json = JSON.parse(msg.data.toString("utf8"));
    } catch {
      throw new MalformedMessageError(
        `bucket notification for ${upload}: the JSON_API_V1 payload is not JSON`,
      );
    }
    const resource = ObjectResource.safeParse(json);
    if (!resource.success)
      throw new MalformedMessageError(
        `bucket notification for ${upload}: object resource ${formatIssues(resource.error)}`,
      );
    const r = resource.data;
    if (r.bucket !== a.bucketId || r.name !== a.objectId || r.generation !== a.objectGeneration)
      throw new MalformedMessageError(
        `bucket notification for ${upload}: its payload names gs://${r.bucket}/${r.name}#${r.generation}`,
      );
    metadata = r.metadata ?? {};
  }
  return {
    eventType: a.eventType,
    bucket: a.bucketId,
    name: a.objectId,
    generation: a.objectGeneration,
    time: a.eventTime ?? msg.publishTime ?? null,
    upload,
    metadata,
  };
}
