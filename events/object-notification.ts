// Cloud Storage's Pub/Sub notification of an object change (payload JSON_API_V1), decoded once at the edge.
import { z } from "zod";
import { ModelLine } from "../schemas/model-line.ts";

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
  /**
   * The object's custom metadata (`gcloud storage cp --custom-metadata=K=V`, `x-goog-meta-K: V`), keys without the
   * `x-goog-meta-` prefix. The uploader's to write: values are checked where they are read, not here.
   */
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type ObjectResource = z.infer<typeof ObjectResource>;

/**
 * The custom metadata key an upload names its model line with: `gcloud storage cp --custom-metadata=model-line=NAME`.
 * Cloud Storage keeps metadata keys as given; start-run reads this one in any case (`Model-Line` too), since the XML
 * API's `x-goog-meta-*` headers are case-insensitive.
 */
export const MODEL_LINE_METADATA_KEY = "model-line";

/**
 * The custom metadata that names an upload's model line, for the CLI and the demos (undefined when no line is given);
 * an Error naming `flag` when the line is not one. start-run checks every upload's line again.
 */
export function modelLineMetadata(
  line: string | undefined,
  flag = "--model-line",
): Record<string, string> | undefined {
  if (line === undefined) return undefined;
  const parsed = ModelLine.safeParse(line);
  if (!parsed.success)
    throw new Error(
      `${flag} ${JSON.stringify(line)}: ${parsed.error.issues[0]?.message ?? "not a model line"}`,
    );
  return { [MODEL_LINE_METADATA_KEY]: parsed.data };
}

/** What the embedded runtime and the tests publish: the message Cloud Storage sends for a finalized object. */
export function finalizeNotification(
  object: {
    bucket: string;
    name: string;
    generation: string;
    size: number;
    contentType?: string;
    updated: string;
    /** Custom metadata, as Cloud Storage puts it in the JSON_API_V1 payload (absent when the object has none). */
    metadata?: Record<string, string>;
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
    ...(object.metadata && Object.keys(object.metadata).length > 0 ? { metadata: object.metadata } : {}),
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
