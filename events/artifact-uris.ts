// Where an event's artifact URIs may point: under its own run's folder, at the step and attempt that produced them.
// The schema checks the shape (run, step, attempt); the decision core, which knows the bucket, checks the bucket.
import type { z } from "zod";
import { GcsUri, type JobStep } from "../schemas/names.ts";

export interface ArtifactPlace {
  runId: string;
  step: JobStep;
  /** The producing attempt; null when any attempt of the step is right (a model evaluated or registered later). */
  attempt: number | null;
  /** True when the URI must be the attempt folder itself (a data or output folder), not a file below it. */
  folder?: boolean;
}

/** Why `uri` is not an artifact of `place`, or null when it is. */
export function artifactUriProblem(uri: string, place: ArtifactPlace): string | null {
  const where = `gs://BUCKET/runs/${place.runId}/${place.step}/a${place.attempt ?? "N"}/`;
  const shown = JSON.stringify(uri.length > 200 ? `${uri.slice(0, 200)}...` : uri);
  const parsed = GcsUri.safeParse(uri);
  if (!parsed.success)
    return `must be a gs:// URI under ${where}, got ${shown}: ${parsed.error.issues[0]?.message}`;
  const name = /^gs:\/\/[^/]+\/(.*)$/.exec(uri)![1]!;
  const prefix = `runs/${place.runId}/${place.step}/`;
  const attempt = name.startsWith(prefix) ? /^a([1-9]\d*)(\/.*)?$/.exec(name.slice(prefix.length)) : null;
  const rest = attempt?.[2] ?? "";
  const ok =
    attempt !== null &&
    (place.attempt === null || Number(attempt[1]) === place.attempt) &&
    (place.folder ? rest === "" || rest === "/" : rest.length > 1);
  if (ok) return null;
  return place.folder
    ? `must be this run's ${place.step} folder ${where}, got ${shown}`
    : `must lie under this run's ${place.step} folder ${where}, got ${shown}`;
}

/** The bucket of a gs:// URI (null when it is not one). */
export function bucketOf(uri: string): string | null {
  return /^gs:\/\/([^/]+)\//.exec(uri)?.[1] ?? null;
}

/** Adds an issue at `path` when `uri` is not an artifact of `place`; for zod superRefine callbacks. */
export function checkArtifact(
  ctx: z.RefinementCtx,
  path: (string | number)[],
  uri: string,
  place: ArtifactPlace,
): void {
  const problem = artifactUriProblem(uri, place);
  if (problem) ctx.addIssue({ code: "custom", path, message: `${path.join(".")} ${problem}` });
}

/** A registered model's folder: some run's train attempt (the champion usually comes from another run). */
export function modelOfAnyRunProblem(uri: string): string | null {
  const parsed = GcsUri.safeParse(uri);
  const shown = JSON.stringify(uri.slice(0, 200));
  if (parsed.success && /^gs:\/\/[^/]+\/runs\/[a-z0-9][a-z0-9-]{2,62}\/train\/a[1-9]\d*\/./.test(uri))
    return null;
  return `must be a model folder gs://BUCKET/runs/RUN_ID/train/aN/..., got ${shown}`;
}
