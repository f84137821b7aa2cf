// The container server started as a process from the checkout, as `npm run serve` and the serving image start it:
// Vertex AI's port and routes, the champion through the embedded registry and bucket, limits, and a clean stop.
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalModelRegistry } from "../../emulator/embedded/local-model-registry.ts";
import { REPO_ROOT } from "../inference/python-env.ts";
import { goldenRequests, runFolder, scratchDir } from "./support.ts";

const root = scratchDir();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  port: number;
  exited: Promise<number | null>;
}

/** Starts functions/predict/server.ts; resolves once it logs that it is ready (or rejects with its last lines). */
function startServer(env: Record<string, string>, until = "predict server ready"): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", "functions/predict/server.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    let port = 0;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (typeof entry.port === "number") port = entry.port;
        if (String(entry.message).startsWith(until)) resolve({ child, lines, port, exited });
      }
    });
    void exited.then((code) =>
      reject(
        new Error(`server exited with ${code}: ${JSON.stringify(lines.slice(-3))} ${stderr.slice(-500)}`),
      ),
    );
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function send(port: number, method: string, path: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path,
      headers: { "content-type": "application/json" },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: text ? (JSON.parse(text) as Reply["body"]) : {},
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

const VERTEX_PREDICT = "/v1/endpoints/123/deployedModels/456:predict";
const VERTEX_HEALTH = "/v1/endpoints/123/deployedModels/456";

describe("container server", () => {
  it("serves the registry's champion from the bucket on Vertex AI's port and routes, then stops on SIGTERM", async () => {
    const localRoot = join(root, "local");
    runFolder(join(localRoot, "bucket"), "run-c", [1, 2]);
    const registry = new LocalModelRegistry(join(localRoot, "registry"), "sentiment-classifier");
    await registry.registerChampion({
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
