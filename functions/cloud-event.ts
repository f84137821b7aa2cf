// Unwraps the CloudEvents functions receive: Pub/Sub pushes (Eventarc's messagePublished) and Cloud Storage finalize events.
import { z } from "zod";
import { MalformedMessageError, formatIssues } from "../events/codec.ts";

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

const PubSubPush = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).nullish(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
    publish_time: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

export const PUBSUB_EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished";
export const STORAGE_FINALIZED_TYPE = "google.cloud.storage.object.v1.finalized";

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

/** What start-run needs of a finalized object, from Eventarc's storage event or a bucket notification on Pub/Sub. */
export const FinalizedObject = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(String),
  size: z.union([z.string(), z.number()]).optional(),
  contentType: z.string().optional(),
});
export type FinalizedObject = z.infer<typeof FinalizedObject>;

/** The finalized object, or null for other bucket notifications (deletes, metadata updates). */
export function finalizedObject(event: CloudEventLike): {
  object: FinalizedObject | null;
  raw: Buffer;
  messageId: string;
} {
  if (event.type === PUBSUB_EVENT_TYPE) {
    const msg = unwrapPubSub(event);
    // Cloud Storage notifications to Pub/Sub carry the object resource as data and the event kind as an attribute.
    if (msg.attributes.eventType && msg.attributes.eventType !== "OBJECT_FINALIZE") {
      return { object: null, raw: msg.data, messageId: msg.messageId };
    }
    let json: unknown;
    try {
      json = JSON.parse(msg.data.toString("utf8"));
    } catch {
      throw new MalformedMessageError("bucket notification data is not JSON");
    }
    const parsed = FinalizedObject.safeParse(json);
    if (!parsed.success)
      throw new MalformedMessageError(`bucket notification: ${formatIssues(parsed.error)}`);
    return { object: parsed.data, raw: msg.data, messageId: msg.messageId };
  }
  const parsed = FinalizedObject.safeParse(event.data);
  const raw = Buffer.from(JSON.stringify(event.data ?? null));
  if (!parsed.success) throw new MalformedMessageError(`storage event: ${formatIssues(parsed.error)}`);
  return { object: parsed.data, raw, messageId: event.id ?? "unknown" };
}
