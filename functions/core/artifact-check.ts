// The decision core's half of the artifact URI check: the event schema has placed every URI under the event's own run,
// step and attempt; here, where the config is known, each must also be in the pipeline's bucket, and a model under
// evaluation must be the one this run trained last.
import type { PipelineEvent } from "../../events/catalogue.ts";
import { bucketOf } from "../../events/artifact-uris.ts";
import type { RunState } from "../../schemas/run-state.ts";

/** The artifact URIs an event carries, by field path. */
export function artifactUris(event: PipelineEvent): [string, string][] {
  switch (event.type) {
    case "data.prepared": {
      const d = event.data;
      return [
        ["data.dataDir", d.dataDir],
        ["data.splits.train.uri", d.splits.train.uri],
        ["data.splits.validation.uri", d.splits.validation.uri],
        ["data.splits.test.uri", d.splits.test.uri],
        ["data.statsUri", d.statsUri],
        ["data.rejectedUri", d.rejectedUri],
      ];
    }
    case "tuning.completed":
      return [
        ["data.outDir", event.data.outDir],
        ["data.studyUri", event.data.studyUri],
      ];
    case "training.completed":
      return [["data.modelDir", event.data.modelDir]];
    case "evaluation.completed": {
      const d = event.data;
      const uris: [string, string][] = [
        ["data.modelDir", d.modelDir],
        ["data.metricsUri", d.metricsUri],
        ["data.slicesUri", d.slicesUri],
      ];
      if (d.champion) uris.push(["data.champion.modelUri", d.champion.modelUri]);
      return uris;
    }
    case "model.registered":
      return [["data.artifactUri", event.data.artifactUri]];
    default:
      return [];
  }
}

const folder = (uri: string): string => uri.replace(/\/+$/, "");

/** Why the event's artifacts are not this run's own in `bucket`, or null when they are. */
export function foreignArtifact(event: PipelineEvent, bucket: string, state: RunState): string | null {
  for (const [path, uri] of artifactUris(event)) {
    const found = bucketOf(uri);
    if (found !== bucket)
      return `${event.type} ${path} is in bucket ${found ?? "(none)"}, not the pipeline's bucket ${bucket}: ${uri.slice(0, 200)}`;
  }
  const trained = state.artifacts.training?.modelDir;
  if (
    event.type === "evaluation.completed" &&
    (trained === undefined || folder(trained) !== folder(event.data.modelDir))
  )
    return `evaluation.completed data.modelDir ${event.data.modelDir.slice(0, 200)} is not the model this run trained (${trained ?? "none yet"})`;
  return null;
}
