// The `predict` HTTP function through functions-framework's test server: every route and every refusal, golden
// scores of the tiny model (int8 and fp32), batching of concurrent requests, and a model that cannot be loaded.
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { registerPredict, PREDICT_ENTRY_POINT } from "../../serving/http-function.ts";
import { registerFunctions } from "../../functions/register.ts";
import type { PipelineConfigInput } from "../../schemas/config.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, MemoryRegistry, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import { goldenRequests, placeModel, scratchDir } from "./support.ts";

let n = 0;
const root = scratchDir();
const MODEL = placeModel(join(root, "model"), "tiny-run", 4);
const servers: Server[] = [];

interface Endpoint {
  url: string;
  log: CapturingLogger;
}

/** Registers predict under a fresh name and serves functions-framework's app for it on a loopback port. */
async function endpoint(
  serving: PipelineConfigInput["serving"] = {},
  env: NodeJS.ProcessEnv = {},
): Promise<Endpoint> {
  const prefix = `s${++n}_`;
  const log = new CapturingLogger();
  const config = parseConfig({ serving: { modelUri: MODEL, batchWindowMs: 5, ...serving } });
  registerPredict(
    {
      config,
      store: new LocalObjectStore("bkt", join(root, "bucket")),
      registry: new MemoryRegistry(),
      log,
    },
    prefix,
  );
  // express reads NODE_ENV when functions-framework builds its app: production, as functions/index.ts sets it.
  const saved = process.env.NODE_ENV;
  Object.assign(process.env, { NODE_ENV: "production" }, env);
  const server = getTestServer(`${prefix}${PREDICT_ENTRY_POINT}`);
  process.env.NODE_ENV = saved;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

async function call(
  e: Endpoint,
  path: string,
  init: { method?: string; body?: string | Buffer; type?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${e.url}${path}`, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: init.body !== undefined ? { "content-type": init.type ?? "application/json" } : {},
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body, text, headers: res.headers };
}

const post = (e: Endpoint, body: unknown, path = "/"): Promise<Answer> =>
  call(e, path, { body: JSON.stringify(body) });

function errorOf(a: Answer): { code: number; message: string; field?: string } {
  return a.body.error as { code: number; message: string; field?: string };
}

interface Predictions {
  predictions: { label: string; scores: Record<string, number> }[];
  model: Record<string, unknown>;
}

let shared: Endpoint;
beforeAll(async () => {
  shared = await endpoint();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(root, { recursive: true, force: true });
});

describe("predict function: answers", () => {
  it("scores reviews as the golden int8 model does, with the model's version info", async () => {
    const cases = goldenRequests();
    expect(cases.length).toBeGreaterThanOrEqual(3);
    const a = await post(shared, { instances: cases.map((c) => c.instance) });
    expect(a.status).toBe(200);
    const body = a.body as unknown as Predictions;
    body.predictions.forEach((p, i) => {
      const want = cases[i]!.scoresInt8;
      expect(Object.keys(p.scores)).toEqual(["NEGATIVE", "NEUTRAL", "POSITIVE"]);
      expect(Object.values(p.scores)[0]).toBeCloseTo(want[0]!, 5);
      expect(Object.values(p.scores)[1]).toBeCloseTo(want[1]!, 5);
      expect(Object.values(p.scores)[2]).toBeCloseTo(want[2]!, 5);
      expect(p.label).toBe(["NEGATIVE", "NEUTRAL", "POSITIVE"][want.indexOf(Math.max(...want))]);
    });
    expect(body.model).toMatchObject({
      runId: "tiny-run",
      trainAttempt: 4,
      baseModel: "tiny",
      file: "model.int8.onnx",
      quantized: true,
      registryVersion: null,
      uri: MODEL,
      usesSideFeatures: true,
    });
  });

  it("serves model.onnx with the golden fp32 scores when quantized is off", async () => {
    const fp32 = await endpoint({ quantized: false });
    const cases = goldenRequests();
    const a = await post(fp32, { instances: cases.map((c) => c.instance) }, "/predict");
    expect(a.status).toBe(200);
    const body = a.body as unknown as Predictions;
    body.predictions.forEach((p, i) => {
      Object.values(p.scores).forEach((s, k) => expect(s).toBeCloseTo(cases[i]!.scores[k]!, 5));
    });
    expect(body.model).toMatchObject({ file: "model.onnx", quantized: false });
  });

  it("answers the same with batches run on the main thread as on worker threads", async () => {
    const main = await endpoint({ workers: 0 });
    const body = { instances: goldenRequests().map((c) => c.instance) };
    const [a, b] = await Promise.all([post(main, body), post(shared, body)]);
    expect((a.body as unknown as Predictions).model).toMatchObject({ workers: 0 });
    expect((b.body as unknown as Predictions).model.workers).toBeGreaterThanOrEqual(1);
    const scores = (x: Answer) =>
      (x.body as unknown as Predictions).predictions.map((p) =>
        Object.values(p.scores).map((v) => v.toFixed(6)),
      );
    expect(scores(a)).toEqual(scores(b));
  });

  it("gives the same answer for a review sent with raw HTML as for its cleaned text", async () => {
    const [c] = goldenRequests();
    const raw = { ...c!.instance, text: `<p>${c!.instance.text.replace(", ", ",<br /><br />  ")}</p>` };
    const a = await post(shared, { instances: [raw, c!.instance] });
    const [p0, p1] = (a.body as unknown as Predictions).predictions;
    expect(p0!.scores).toEqual(p1!.scores);
  });

  it("treats side features left out as missing, not as zero", async () => {
    const [c] = goldenRequests();
    const { price: _p, helpful_vote: _h, verified_purchase: _v, ...bare } = c!.instance;
    const a = await post(shared, {
      instances: [bare, { ...bare, price: null, verified_purchase: null }, c!.instance],
    });
    const [left, nulls, given] = (a.body as unknown as Predictions).predictions;
    expect(left!.scores).toEqual(nulls!.scores);
    expect(left!.scores).not.toEqual(given!.scores);
  });

  it("takes the original app's {texts: [...]} and plain strings in instances", async () => {
    const a = await post(shared, { texts: ["great quality, works perfect", "terrible cable, broke"] });
    expect(a.status).toBe(200);
    const b = await post(shared, { instances: ["great quality, works perfect", "terrible cable, broke"] });
    expect(a.body.predictions).toEqual(b.body.predictions);
    expect((a.body as unknown as Predictions).predictions).toHaveLength(2);
  });

  it("parses a JSON body whatever its content type says", async () => {
    const a = await call(shared, "/", { body: JSON.stringify({ texts: ["fine"] }), type: "text/plain" });
    expect(a.status).toBe(200);
    const b = await call(shared, "/", {
      body: Buffer.from(JSON.stringify({ texts: ["fine"] })),
      type: "application/octet-stream",
    });
    expect(b.status).toBe(200);
    expect(b.body.predictions).toEqual(a.body.predictions);
  });

  it("answers health with 200 and the model once it is loaded", async () => {
    const a = await call(shared, "/health");
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ status: "ok", model: { runId: "tiny-run" } });
  });

  it("runs concurrent requests in shared batches, each getting its own answers", async () => {
    const e = await endpoint({ batchWindowMs: 50 });
    const texts = Array.from({ length: 12 }, (_, i) => `review number ${i} was ${i % 2 ? "great" : "awful"}`);
    const one = await Promise.all(texts.map((t) => post(e, { texts: [t] })));
    const all = await post(e, { texts });
    expect(one.map((a) => (a.body as unknown as Predictions).predictions[0])).toEqual(
      (all.body as unknown as Predictions).predictions,
    );
    const health = await call(e, "/health");
    const batches = health.body.batches as {
      batches: number;
      requests: number;
      rows: number;
      onnxRuns: number;
    };
    // warm-up (1) + the 12 concurrent requests + the one of 12 rows
    expect(batches.requests).toBe(14);
    expect(batches.rows).toBe(25);
    expect(batches.batches).toBeLessThan(10);
    // A batch of reviews of different lengths may take more than one run, never more runs than rows.
    expect(batches.onnxRuns).toBeGreaterThanOrEqual(batches.batches);
    expect(batches.onnxRuns).toBeLessThanOrEqual(batches.rows);
  });
});

describe("predict function: bounded runs", () => {
  it("splits a request of 64 reviews into ONNX runs of at most 16 rows by default, and reports memory in health", async () => {
    // onnxruntime's CPU arena keeps its largest run's activations for good: runs of 64 rows x 128 tokens of MiniLM
    // held the server at 1.5 GB (docs/benchmarks.md), so the default caps a run at 16 rows.
    const e = await endpoint({ batchWindowMs: 0 });
    const texts = Array.from({ length: 64 }, () => "the same review of the same length every time");
    const a = await post(e, { texts });
    expect(a.status).toBe(200);
    const health = await call(e, "/health");
    const batches = health.body.batches as { requests: number; rows: number; onnxRuns: number };
    const before = { requests: 1, rows: 1 }; // the warm-up prediction of one row
    expect(batches.rows - before.rows).toBe(64);
    expect(batches.onnxRuns).toBeGreaterThanOrEqual(1 + 4);
    expect(health.body.memory).toMatchObject({
      rss: expect.any(Number),
      heapUsed: expect.any(Number),
      external: expect.any(Number),
      arrayBuffers: expect.any(Number),
    });
  });
});

describe("predict function: refusals", () => {
  it.each([
    ["a wrong type", { instances: [{ text: 42 }] }, 400, "instances[0].text"],
    ["an empty list", { instances: [] }, 400, "instances"],
    ["a missing list", { reviews: ["a"] }, 400, "instances"],
    ["a list that is not one", { instances: { text: "a" } }, 400, "instances"],
    ["a text empty once cleaned", { instances: ["ok", { text: "<br/>" }] }, 400, "instances[1].text"],
    ["a negative price", { instances: [{ text: "ok", price: -3 }] }, 400, "instances[0].price"],
    ["an implausible price", { instances: [{ text: "great", price: 1e200 }] }, 400, "instances[0].price"],
    ["more instances than the limit", { texts: Array.from({ length: 65 }, () => "a") }, 413, "texts"],
  ])("answers %s with %i naming the field", async (_what, body, status, field) => {
    const a = await post(shared, body);
    expect(a.status).toBe(status);
    expect(errorOf(a)).toMatchObject({ code: status, field });
    expect(errorOf(a).message).toContain(field);
  });

  it("answers a body that is not JSON with 400 and no stack trace", async () => {
    const plain = await call(shared, "/", { body: "{instances: [", type: "text/plain" });
    expect(plain.status).toBe(400);
    expect(errorOf(plain).message).toMatch(/not valid JSON \(at position 1\)/);
    // With a JSON content type functions-framework's parser answers before the function: still 400, no stack.
    const json = await call(shared, "/", { body: "{instances: [" });
    expect(json.status).toBe(400);
    expect(json.text).not.toMatch(/\bat\s+\S+\s+\(|SyntaxError|node_modules/);
  });

  it("answers an empty body with 400", async () => {
    const a = await call(shared, "/", { method: "POST" });
    expect(a.status).toBe(400);
    expect(errorOf(a).message).toMatch(/body is empty/);
  });

  it("answers a body over the size limit with 413", async () => {
    const e = await endpoint({ maxBodyBytes: 2048 });
    const a = await post(e, { texts: ["x".repeat(3000)] });
    expect(a.status).toBe(413);
    expect(errorOf(a).message).toMatch(/over the limit of 2048 bytes/);
    expect((await post(e, { texts: ["short"] })).status).toBe(200);
  });

  it("answers wrong methods with 405 and the allowed one, unknown paths with 404", async () => {
    const get = await call(shared, "/predict");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    const postHealth = await call(shared, "/health", { body: "{}" });
    expect(postHealth.status).toBe(405);
    expect(postHealth.headers.get("allow")).toBe("GET, HEAD");
    const unknown = await call(shared, "/v1/models");
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).message).toMatch(/no route \/v1\/models/);
  });

  it("keeps serving after every kind of bad request", async () => {
    for (const body of ["{", "[]", '"x"', "null", '{"instances": [1]}'])
      await call(shared, "/", { body, type: "text/plain" });
    expect((await post(shared, { texts: ["still here"] })).status).toBe(200);
  });

  it("logs refusals by field and status, never the review text", async () => {
    const e = await endpoint();
    await post(e, { instances: [{ text: "my private words", price: "nine" }] });
    const line = e.log.entries.find((x) => x.fields.status === 400);
    expect(line?.fields.field).toBe("instances[0].price");
    expect(JSON.stringify(e.log.entries)).not.toContain("private");
  });
});

describe("predict function: a model that cannot be loaded", () => {
  it("answers 503 naming the problem on predict and health, and keeps answering", async () => {
    const e = await endpoint({ modelUri: join(root, "no-such-run") });
    const a = await post(e, { texts: ["hello"] });
    expect(a.status).toBe(503);
    expect(a.headers.get("retry-after")).toBe("5");
    expect(errorOf(a).message).toMatch(/model is not available: MODEL_URI .*no-such-run does not exist/);
    const h = await call(e, "/health");
    expect(h.status).toBe(503);
    expect(h.body).toMatchObject({ status: "failed" });
    expect((await post(e, { instances: [] })).status).toBe(400);
  });

  it("answers 503 for a corrupt model folder, without a stack trace", async () => {
    const broken = placeModel(join(root, "broken"), "broken-run", 1);
    writeFileSync(join(broken, "model.int8.onnx"), "not an onnx file");
    const e = await endpoint({ modelUri: broken });
    const a = await post(e, { texts: ["hello"] });
    expect(a.status).toBe(503);
    expect(errorOf(a).message).toMatch(/model\.int8\.onnx/);
    expect(a.text).not.toMatch(/\n\s+at /);
  });

  it("answers health with 503 while loading lazily, then 200", async () => {
    const e = await endpoint();
    const first = await call(e, "/health");
    expect([200, 503]).toContain(first.status);
    let status = first.status;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await call(e, "/health")).status;
    }
    expect(status).toBe(200);
  });
});

describe("registerFunctions", () => {
  it("registers predict beside the event functions, under the deployed entry point name", async () => {
    const prefix = `rf${++n}_`;
    registerFunctions(
      {
        config: parseConfig({ serving: { modelUri: MODEL } }),
        store: new LocalObjectStore("bkt", join(root, "bucket")),
        bus: new RecordingBus(),
        launcher: new RecordingLauncher(),
        ledger: new MemoryRunLedger(),
        registry: new MemoryRegistry(),
        log: new CapturingLogger(),
        deadLetters: new MemoryDeadLetters(),
        clock: { now: () => new Date("2026-05-01T00:00:00Z") },
      },
      prefix,
    );
    const server = getTestServer(`${prefix}predict`);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    servers.push(server);
    const e = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      log: new CapturingLogger(),
    };
    const a = await post(e, { texts: ["great"] });
    expect(a.status).toBe(200);
    expect((a.body as unknown as Predictions).model.runId).toBe("tiny-run");
  });
});
