// The Vertex model registry through the official client against the stand-in: versions of one model, the champion alias.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  UploadStillRunningError,
  VertexModelRegistry,
  metricLabels,
  type VertexModelRegistryOptions,
} from "../../platform/gcp/vertex-model-registry.ts";
import type { RegisterRequest } from "../../platform/ports/model-registry.ts";
import { startStandIn, type StandInHarness } from "./vertex-stand-in-support.ts";
import { LEGACY_MODEL_LINE } from "../../schemas/model-line.ts";

let h: StandInHarness;
const registries: VertexModelRegistry[] = [];

beforeAll(async () => {
  h = await startStandIn();
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await h?.close();
});

let seq = 0;
/** A registry over a model of its own, so tests do not see each other's versions. */
function registry(extra: Partial<VertexModelRegistryOptions> = {}): VertexModelRegistry {
  const r = new VertexModelRegistry({
    projectId: "local-project",
    region: "us-central1",
    endpoint: h.standIn.endpoint,
    modelId: `sentiment-${process.pid}-${++seq}`,
    servingImageUri: "us-central1-docker.pkg.dev/local-project/sentiment-pipeline/serving:latest",
    ...extra,
  });
  registries.push(r);
  return r;
}

const LINE = "minilm-3class";

function request(
  runId: string,
  weightedF1: number,
  attempt = 1,
  line = LINE,
  trainAttempt = 1,
): RegisterRequest {
  return {
    runId,
    line,
    attempt,
    artifactUri: `gs://local-bucket/runs/${runId}/train/a${trainAttempt}/model`,
    metrics: { accuracy: 0.9, weightedF1, macroF1: weightedF1 - 0.1 },
  };
}

describe("VertexModelRegistry over the stand-in", () => {
  it("finds the champion of the one model a registry held before model lines, under the base model id", async () => {
    const base = `sentiment-${process.pid}-${++seq}`;
    const upgraded = registry({ modelId: `${base}-old` });
    expect(await upgraded.legacyChampion()).toBeNull();
    // The old layout: one model whose id is the registry model name itself (made here as a line model whose id is
    // that name).
    await registry({ modelId: base }).registerChampion(request("legacy-run-1", 0.8, 1, "old"));
    expect(await upgraded.legacyChampion()).toMatchObject({
      line: LEGACY_MODEL_LINE,
      version: "1",
      runId: "legacy-run-1",
      artifactUri: "gs://local-bucket/runs/legacy-run-1/train/a1/model",
    });
    // The lines themselves stay empty: the evaluate job decides whether the old champion is this line's.
    expect(await upgraded.getChampion(LINE)).toBeNull();
  });

  it("has no champion before anything is registered", async () => {
    const r = registry();
    expect(await r.getChampion(LINE)).toBeNull();
    expect(await r.listVersions(LINE)).toEqual([]);
  });

  it("makes two versions of one model for two promoted runs, the champion alias on the second", async () => {
    const r = registry();
    const first = await r.registerChampion(request("run-one", 0.81));
    const second = await r.registerChampion(request("run-two", 0.84));
    expect(first.version).toBe("1");
    expect(second.version).toBe("2");
    expect(second.modelResource).toBe(first.modelResource);
    expect(second.modelResource).toBe(r.modelName(LINE));

    const champion = await r.getChampion(LINE);
    expect(champion).toMatchObject({
      version: "2",
      runId: "run-two",
      artifactUri: "gs://local-bucket/runs/run-two/train/a1/model",
    });
    expect(champion?.metrics).toEqual({ accuracy: 0.9, weightedF1: 0.84, macroF1: 0.84 - 0.1 });

    const versions = await r.listVersions(LINE);
    expect(versions.map((v) => [v.version, v.runId, [...v.aliases].sort()])).toEqual([
      ["1", "run-one", ["default"]],
      ["2", "run-two", ["champion"]],
    ]);
  });

  it("waits on an upload a timed-out delivery left running instead of uploading a second version", async () => {
    // The first registration's wait runs out while Vertex still creates the version (the function timed out); the
    // redelivery must find that upload, wait for it, and return its version.
    const first = registry({ operationTimeoutMs: 100, pollMs: 20 });
    const redelivery = registry({
      modelId: first.modelId,
      operationTimeoutMs: 10_000,
      pollMs: 20,
    });
    await first.registerChampion(request("run-before", 0.8));
    h.standIn.models.uploadDelayMs = 800;
    try {
      await expect(first.registerChampion(request("run-slow", 0.85))).rejects.toBeInstanceOf(
        UploadStillRunningError,
      );
      const version = await redelivery.registerChampion(request("run-slow", 0.85));
      expect(version).toMatchObject({ version: "2", runId: "run-slow" });
    } finally {
      h.standIn.models.uploadDelayMs = 0;
    }
    const versions = await first.listVersions(LINE);
    expect(versions.map((v) => v.runId)).toEqual(["run-before", "run-slow"]);
  });

  it("does not register a run's model the line already holds again: a no-op that says so, whatever the attempt", async () => {
    const r = registry();
    const a = await r.registerChampion(request("run-same", 0.8));
    expect(a).toMatchObject({ version: "1", created: true, line: LINE });
    // A redelivery of the same registration finds the version it made.
    const b = await r.registerChampion(request("run-same", 0.8));
    expect(b).toMatchObject({ version: "1", created: true });
    // A retrigger from evaluate registers again under a later attempt: the same model, still no new version.
    const c = await r.registerChampion(request("run-same", 0.8, 3));
    expect(c).toMatchObject({ version: "1", created: false });
    expect(await r.listVersions(LINE)).toHaveLength(1);
    // Another model of the same run (a later training) is a new version.
    const d = await r.registerChampion(request("run-same", 0.82, 4, LINE, 2));
    expect(d).toMatchObject({ version: "2", created: true });
  });

  it("keeps one Vertex model per line, each with its own versions and champion", async () => {
    const r = registry();
    await r.registerChampion(request("run-mini", 0.88));
    const tiny = await r.registerChampion(request("run-tiny", 0.6, 1, "tiny-3class"));
    expect(tiny).toMatchObject({
      version: "1",
      line: "tiny-3class",
      modelResource: r.modelName("tiny-3class"),
    });
    expect(r.modelName("tiny-3class")).not.toBe(r.modelName(LINE));
    expect((await r.getChampion(LINE))?.runId).toBe("run-mini");
    expect((await r.getChampion("tiny-3class"))?.runId).toBe("run-tiny");
    expect((await r.listVersions(LINE)).map((v) => v.runId)).toEqual(["run-mini"]);
    expect(await r.getChampion("bert-base-uncased-3class")).toBeNull();
  });

  it("refuses a line that is not a safe name, before any call", async () => {
    const r = registry();
    await expect(r.registerChampion(request("run-x", 0.8, 1, "../other"))).rejects.toThrow(
      /invalid model line "..\/other"/,
    );
    await expect(r.getChampion("A B")).rejects.toThrow(/invalid model line/);
  });

  it("moves the alias to a version that was uploaded before a crash left it without the alias", async () => {
    const r = registry();
    await r.registerChampion(request("run-old", 0.8));
    const crashed = request("run-crashed", 0.83);
    // The upload went through but the alias move did not.
    const [op] = await (
      await r.modelClient()
    ).uploadModel({
      parent: "projects/local-project/locations/us-central1",
      parentModel: r.modelName(LINE),
      model: { displayName: "sentiment", artifactUri: crashed.artifactUri, labels: metricLabels(crashed) },
    });
    await op.promise();
    expect((await r.getChampion(LINE))?.runId).toBe("run-old");
    const v = await r.registerChampion(crashed);
    expect(v.version).toBe("2");
    expect(await r.listVersions(LINE)).toHaveLength(2);
    expect((await r.getChampion(LINE))?.version).toBe("2");
  });

  it("uploads the serving container, the model folder and labels with the run and its metrics", async () => {
    const r = registry();
    await r.registerChampion({ ...request("run-labels", 0.8123), labels: { dataset: "amazon-2023" } });
    const [model] = await (await r.modelClient()).getModel({ name: `${r.modelName(LINE)}@champion` });
    expect(model.artifactUri).toBe("gs://local-bucket/runs/run-labels/train/a1/model");
    expect(model.containerSpec).toMatchObject({
      imageUri: "us-central1-docker.pkg.dev/local-project/sentiment-pipeline/serving:latest",
      predictRoute: "/predict",
      healthRoute: "/health",
    });
    expect(model.labels).toMatchObject({
      run_id: "run-labels",
      attempt: "1",
      weighted_f1_bp: "8123",
      dataset: "amazon-2023",
    });
  });

  it("leaves the model's location to Vertex (AIP_STORAGE_URI): the container spec names no pipeline bucket", async () => {
    const r = registry();
    await r.registerChampion(request("run-storage", 0.8));
    const [model] = await (await r.modelClient()).getModel({ name: `${r.modelName(LINE)}@champion` });
    // Vertex copies artifactUri for the endpoint; the serving identity can read only that copy.
    expect(model.artifactUri).toBe("gs://local-bucket/runs/run-storage/train/a1/model");
    expect(JSON.stringify(model.containerSpec?.env ?? [])).not.toContain("gs://local-bucket");
    expect((model.containerSpec?.env ?? []).map((e) => e.name)).not.toContain("MODEL_URI");
  });

  it("is refused a label value Vertex would refuse, so the stand-in catches what the cloud would", async () => {
    const r = registry();
    await expect(
      r.registerChampion({ ...request("run-bad-label", 0.8), labels: { note: "Has Capitals" } }),
    ).rejects.toThrow(/Invalid label value/);
  });
});
