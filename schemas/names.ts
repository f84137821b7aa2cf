// Identifiers that end up in paths, URIs and job names: validated before they touch any of them.
import { z } from "zod";

/** Run ids: lower-case letters, digits and dashes, so they are valid in GCS paths, Vertex job names and labels. */
export const RunId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{2,62}$/,
    "run id must be 3-63 characters of a-z, 0-9 and '-', starting with a letter or digit",
  );
export type RunId = z.infer<typeof RunId>;

export const STEPS = ["prepare", "tune", "train", "evaluate", "register"] as const;
export const Step = z.enum(STEPS);
export type Step = z.infer<typeof Step>;

/** Steps that run as jobs (register runs inside advance-run). */
export const JOB_STEPS = ["prepare", "tune", "train", "evaluate"] as const;
export const JobStep = z.enum(JOB_STEPS);
export type JobStep = z.infer<typeof JobStep>;

export const LABELS = ["NEGATIVE", "NEUTRAL", "POSITIVE"] as const;
export const Label = z.enum(LABELS);
export type Label = z.infer<typeof Label>;

/** An object name inside the bucket: relative, no `..` segment, no control characters, no backslashes. */
export const ObjectName = z
  .string()
  .min(1)
  .max(1024)
  .refine((s) => !s.startsWith("/"), "object name must be relative, not absolute")
  .refine(
    (s) => !s.split("/").some((seg) => seg === ".." || seg === "."),
    "object name must not contain '.' or '..' segments",
  )
  .refine(
    // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
    (s) => !/[\u0000-\u001f\u007f\\]/.test(s),
    "object name must not contain control characters or backslashes",
  );
export type ObjectName = z.infer<typeof ObjectName>;

/**
 * Why Pub/Sub would refuse a topic (or subscription) id, or null when it would accept it: 3-255 characters, a letter
 * first, then letters, digits and - _ . ~ + %, not starting with "goog" (google.pubsub.v1 Topic.name). Such an id
 * never holds "/" and never is "." or "..", so it is safe as one path segment.
 */
export function topicIdProblem(name: string): string | null {
  if (name.length < 3 || name.length > 255) return `must be 3-255 characters long (is ${name.length})`;
  if (!/^[A-Za-z]/.test(name)) return "must start with a letter";
  if (!/^[A-Za-z0-9\-_.~+%]+$/.test(name)) return "may hold only letters, digits and - _ . ~ + %";
  if (name.toLowerCase().startsWith("goog")) return 'must not start with "goog"';
  return null;
}

/** Bucket names as Cloud Storage accepts them (without the dotted-domain form). */
export const BucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/,
    "bucket name must be 3-63 characters of a-z, 0-9, '-' and '_'",
  );

/** A `gs://bucket/object` URI whose object part passes ObjectName. */
export const GcsUri = z.string().superRefine((s, ctx) => {
  const m = /^gs:\/\/([^/]+)\/(.*)$/.exec(s);
  if (!m) {
    ctx.addIssue({ code: "custom", message: "must be a gs://BUCKET/OBJECT uri" });
    return;
  }
  const bucket = BucketName.safeParse(m[1]);
  if (!bucket.success)
    ctx.addIssue({ code: "custom", message: `bad bucket in uri: ${bucket.error.issues[0]?.message}` });
  const name = m[2] ?? "";
  if (name !== "") {
    const obj = ObjectName.safeParse(name);
    if (!obj.success)
      ctx.addIssue({ code: "custom", message: `bad object in uri: ${obj.error.issues[0]?.message}` });
  }
});
export type GcsUri = z.infer<typeof GcsUri>;

export function parseGcsUri(uri: string): { bucket: string; name: string } {
  const parsed = GcsUri.safeParse(uri);
  if (!parsed.success)
    throw new Error(`invalid uri ${JSON.stringify(uri)}: ${parsed.error.issues[0]?.message}`);
  const m = /^gs:\/\/([^/]+)\/(.*)$/.exec(uri)!;
  return { bucket: m[1]!, name: m[2]! };
}

export function gcsUri(bucket: string, name: string): string {
  return `gs://${bucket}/${name}`;
}

/** The run folder of a run: everything it produces lives below it. */
export function runDir(bucket: string, runId: string): string {
  return `gs://${bucket}/runs/${RunId.parse(runId)}`;
}

/** Deterministic job name: a redelivered launch cannot start a second job. */
export function jobName(runId: string, step: JobStep, attempt: number): string {
  return `sp-${runId}-${step}-a${attempt}`;
}

/** The inverse of jobName, for job-state entries that only carry the job's display name. */
export function parseJobName(name: string): { runId: string; step: JobStep; attempt: number } | null {
  const m = /^sp-([a-z0-9][a-z0-9-]*)-(prepare|tune|train|evaluate)-a(\d+)$/.exec(name);
  if (!m) return null;
  const runId = RunId.safeParse(m[1]);
  if (!runId.success) return null;
  return { runId: runId.data, step: m[2] as JobStep, attempt: Number(m[3]) };
}
