// Cloud Storage's Pub/Sub notification of an object change (payload JSON_API_V1), decoded once at the edge.
import { z } from "zod";

/** Where uploads land; the bucket notification is limited to this prefix, so writes elsewhere invoke nothing. */
export const UPLOADS_PREFIX = "uploads/";

/** The notification's event types (https://cloud.google.com/storage/docs/pubsub-notifications#events). */
export const OBJECT_EVENT_TYPES = [
  "OBJECT_FINALIZE",
  "OBJECT_METADATA_UPDATE",
  "OBJECT_DELETE",
  "OBJECT_ARCHIVE",
] as const;

/**
 * The attributes Cloud Storage sets on every notification message. `notificationConfig` names the configuration
 * (`projects/_/buckets/B/notificationConfigs/ID`); emulators may leave it out. `overwroteGeneration` and
 * `overwrittenByGeneration` appear only when an object replaced, or was replaced by, another generation.
 */
export const ObjectNotificationAttributes = z.object({
  notificationConfig: z.string().optional(),
  eventType: z.enum(OBJECT_EVENT_TYPES),
  payloadFormat: z.enum(["JSON_API_V1", "NONE"]),
  bucketId: z.string().min(1),
  objectId: z.string().min(1),
  objectGeneration: z.string().regex(/^\d+$/, "a decimal generation"),
  eventTime: z.string().datetime({ offset: true }).optional(),
  overwroteGeneration: z.string().optional(),
  overwrittenByGeneration: z.string().optional(),
});
export type ObjectNotificationAttributes = z.infer<typeof ObjectNotificationAttributes>;

/** The parts of the JSON API object resource (the JSON_API_V1 payload) the pipeline reads; numbers are strings. */
export const ObjectResource = z.object({
  kind: z.literal("storage#object").optional(),
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.string().regex(/^\d+$/, "a decimal generation"),
  size: z.string().regex(/^\d+$/).optional(),
  contentType: z.string().optional(),
  timeCreated: z.string().optional(),
  updated: z.string().optional(),
});
export type ObjectResource = z.infer<typeof ObjectResource>;

/** What the embedded runtime and the tests publish: the message Cloud Storage sends for a finalized object. */
export function finalizeNotification(
  object: {
    bucket: string;
    name: string;
    generation: string;
    size: number;
    contentType?: string;
    updated: string;
  },
  notificationConfig = `projects/_/buckets/${object.bucket}/notificationConfigs/1`,
): { data: Buffer; attributes: Record<string, string> } {
  const resource: ObjectResource = {
    kind: "storage#object",
    bucket: object.bucket,
    name: object.name,
    generation: object.generation,
    size: String(object.size),
    contentType: object.contentType ?? "application/octet-stream",
    timeCreated: object.updated,
    updated: object.updated,
  };
  const attributes: ObjectNotificationAttributes = {
    notificationConfig,
    eventType: "OBJECT_FINALIZE",
    payloadFormat: "JSON_API_V1",
    bucketId: object.bucket,
    objectId: object.name,
    objectGeneration: object.generation,
    eventTime: object.updated,
  };
  return {
    data: Buffer.from(
      JSON.stringify({ ...resource, id: `${object.bucket}/${object.name}/${object.generation}` }),
    ),
    attributes: attributes as Record<string, string>,
  };
}
