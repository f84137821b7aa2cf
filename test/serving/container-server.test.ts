// The container server started as a process from the checkout, as `npm run serve` and the serving image start it:
// Vertex AI's port and routes, the champion through the embedded registry and bucket, limits, and a clean stop.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalModelRegistry } from "../../platform/local/local-model-registry.ts";
import { send, startServer } from "./server-process.ts";
import { goldenRequests, runFolder, scratchDir } from "./support.ts";

const root = scratchDir();
/** The line `MODEL_URI=champion` serves under the default config (bert-base-uncased, default labels). */
const LINE = "bert-base-uncased-3class";
afterAll(() => rmSync(root, { recursive: true, force: true }));

const VERTEX_PREDICT = "/v1/endpoints/123/deployedModels/456:predict";
const VERTEX_HEALTH = "/v1/endpoints/123/deployedModels/456";

describe("container server", () => {
  it("serves the registry's champion from the bucket on Vertex AI's port and routes, then stops on SIGTERM", async () => {
    const localRoot = join(root, "local");
    runFolder(join(localRoot, "bucket"), "run-c", [1, 2]);
    const registry = new LocalModelRegistry(join(localRoot, "registry"), "sentiment-classifier");
    await registry.registerChampion({
      line: LINE,
      runId: "run-c",
      attempt: 1,
      artifactUri: "gs://local-bucket/runs/run-c/train/a2/model/",
      metrics: { accuracy: 0.9, weightedF1: 0.9, macroF1: 0.8 },
    });
    const s = await startServer({
      LOCAL_ROOT: localRoot,
      MODEL_URI: "champion",
      AIP_HTTP_PORT: "0",
      AIP_PREDICT_ROUTE: VERTEX_PREDICT,
      AIP_HEALTH_ROUTE: VERTEX_HEALTH,
      SERVING_CACHE_DIR: join(root, "cache"),
    });
    expect(s.port).toBeGreaterThan(0);

    const health = await send(s.port, "GET", VERTEX_HEALTH);
    expect(health.status).toBe(200);
    expect(health.body.model).toMatchObject({
      runId: "run-c",
      trainAttempt: 2,
      registryVersion: "1",
      uri: "gs://local-bucket/runs/run-c/train/a2/model",
      file: "model.int8.onnx",
    });

    const cases = goldenRequests();
    const answer = await send(
      s.port,
      "POST",
      VERTEX_PREDICT,
      JSON.stringify({ instances: cases.map((c) => c.instance) }),
    );
    expect(answer.status).toBe(200);
    const predictions = answer.body.predictions as { scores: Record<string, number> }[];
    predictions.forEach((p, i) =>
      Object.values(p.scores).forEach((v, k) => expect(v).toBeCloseTo(cases[i]!.scoresInt8[k]!, 5)),
    );
    // The plain routes answer too, so the same image serves outside Vertex AI.
    expect((await send(s.port, "POST", "/predict", '{"texts": ["works"]}')).status).toBe(200);
    expect((await send(s.port, "GET", "/health")).status).toBe(200);

    const bad = await send(s.port, "POST", VERTEX_PREDICT, '{"instances": [');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: "the request body is not valid JSON (it ends too early)",
      },
    });
    const big = await send(s.port, "POST", VERTEX_PREDICT, Buffer.alloc(2 * 1024 * 1024, 97));
    expect(big.status).toBe(413);
    expect((await send(s.port, "GET", VERTEX_PREDICT)).status).toBe(405);
    expect((await send(s.port, "GET", "/")).status).toBe(404);
    expect((await send(s.port, "POST", "/predict", '{"texts": ["still serving"]}')).status).toBe(200);

    for (const line of s.lines) {
      expect(line).toHaveProperty("severity");
      expect(line).toHaveProperty(["logging.googleapis.com/labels", "component"], "predict-server");
    }
    expect(JSON.stringify(s.lines)).not.toContain("still serving");
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  });

  it("serves the newest trained model of a local run folder on PORT", async () => {
    const run = runFolder(join(root, "runs-local"), "run-l", [1, 3, 2]);
    const s = await startServer({ MODEL_URI: run, PORT: "0", SERVING_QUANTIZED: "false" });
    const health = await send(s.port, "GET", "/health");
    expect(health.body.model).toMatchObject({ trainAttempt: 3, file: "model.onnx", quantized: false });
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  });

  it("exits with a message naming MODEL_URI when it holds no model", async () => {
    const s = await startServer(
      { MODEL_URI: join(root, "missing-run"), PORT: "0" },
      "predict server listening",
    );
    expect(await s.exited).toBe(1);
    const critical = s.lines.find((l) => l.severity === "CRITICAL");
    expect(String(critical?.message)).toMatch(/cannot serve: MODEL_URI .*missing-run does not exist/);
  });
});
