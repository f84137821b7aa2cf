// The container server under hostile clients: a connection cap, a deadline for the whole request (slowloris), and a
// bounded queue of predictions that sheds the rest with 503 and Retry-After before reading their bodies.
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import {
  startContainerServer,
  type RunningServer,
  type ServerLimits,
} from "../../serving/container-server.ts";
import { loadServedModel } from "../../serving/load-served-model.ts";
import { ModelHolder } from "../../serving/model-holder.ts";
import type { ServedModel } from "../../serving/served-model.ts";
import type { ReviewInput } from "../../gpu-jobs/inference/index.ts";
import { PredictService } from "../../serving/predict-service.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryRegistry } from "../support/fakes.ts";
import { placeModel, scratchDir } from "./support.ts";

const root = scratchDir();
const MODEL = placeModel(join(root, "model"), "limits-run", 1);
const running: RunningServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((r) => r.close()));
});

const LIMITS: ServerLimits = {
  maxConnections: 50,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxPending: 8,
  maxBufferedBytes: 1024 * 1024,
};

/** A served model whose predictions wait until the test lets them go (`release`), counting those under way. */
function gatedModel(): { model: ServedModel; release(): void; started: () => number } {
  let open: () => void = () => undefined;
  let gate = new Promise<void>((r) => (open = r));
  let started = 0;
  const model = {
    model: { metadata: { features: null }, tokenizer: { maxLength: 16 } },
    info: { runId: "gated" },
    batchStats: {},
    release: () => Promise.resolve(),
    predict: async (reviews: readonly ReviewInput[]) => {
      started += 1;
      await gate;
      return reviews.map(() => ({ label: "POSITIVE", scores: {} }));
    },
  } as unknown as ServedModel;
  return {
    model,
    release: () => {
      open();
      gate = new Promise<void>((r) => (open = r));
    },
    started: () => started,
  };
}

async function serve(
  limits: Partial<ServerLimits>,
  served?: ServedModel,
): Promise<{ port: number; log: CapturingLogger }> {
  const log = new CapturingLogger();
  const config = parseConfig({ serving: { modelUri: MODEL, workers: 0 } });
  const holder = new ModelHolder({
    log,
    load: () =>
      served
        ? Promise.resolve(served)
        : loadServedModel(config.serving, {
            store: () => new LocalObjectStore("bkt", join(root, "bucket")),
            registry: () => new MemoryRegistry(),
            modelLine: "tiny-3class",
            log,
          }),
  });
  const service = new PredictService({
    holder,
    log,
    routes: { predict: ["/predict"], health: ["/health"] },
    maxInstances: 64,
    maxBodyBytes: config.serving.maxBodyBytes,
  });
  await service.ready();
  const server = await startContainerServer({
    service,
    log,
    port: 0,
    host: "127.0.0.1",
    limits: { ...LIMITS, ...limits },
  });
  running.push(server);
  return { port: server.port, log };
}

interface Raw {
  /** Everything the server wrote before it closed the connection. */
  text: string;
  /** How the connection ended: "close" (the server closed it) or an error code such as ECONNRESET. */
  end: string;
}

/** A raw connection that writes `head` (and optionally more, later); resolves when the server ends it. */
function open(port: number, head = ""): { socket: Socket; done: Promise<Raw> } {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  let text = "";
  let end = "close";
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.on("error", (e: NodeJS.ErrnoException) => (end = e.code ?? e.message));
  if (head) socket.write(head);
  const done = new Promise<Raw>((resolve) => socket.on("close", () => resolve({ text, end })));
  return { socket, done };
}

const connected = (s: Socket): Promise<void> =>
  new Promise((resolve, reject) => {
    if (!s.connecting) return resolve();
    s.once("connect", () => resolve());
    s.once("error", reject);
  });

async function predict(port: number, texts: string[]): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ texts }),
  });
}

describe("container server limits", () => {
  it("closes connections past maxConnections without an answer, and takes new ones once some close", async () => {
    const { port } = await serve({ maxConnections: 3 });
    const held = [open(port), open(port), open(port)];
    await Promise.all(held.map((h) => connected(h.socket)));
    // Give the server a turn to accept the three before the fourth arrives.
    await new Promise((r) => setTimeout(r, 50));
    const extra = open(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    const refused = await extra.done;
    expect(refused.text).toBe("");
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.done));
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
  });

  it("answers 408 and closes a connection that sends its request too slowly (slowloris), headers or body", async () => {
    const { port } = await serve({ requestTimeoutMs: 400, headersTimeoutMs: 300 });
    const silent = open(port);
    const slowHeaders = open(port, "GET /health HTTP/1.1\r\nHost: x\r\n");
    const slowBody = open(
      port,
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"texts": [',
    );
    // Each keeps trickling a byte, as slowloris does, so that no idle timer would catch them.
    const drip = setInterval(() => {
      if (!slowHeaders.socket.destroyed) slowHeaders.socket.write("X-A: b\r\n");
      if (!slowBody.socket.destroyed) slowBody.socket.write(" ");
    }, 50);
    try {
      for (const c of [silent, slowHeaders, slowBody]) {
        const r = await c.done;
        expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
      }
    } finally {
      clearInterval(drip);
    }
    // The server is still there for well-behaved clients.
    expect((await predict(port, ["works fine"])).status).toBe(200);
  });

  it("sheds predictions past maxPending with 503 and Retry-After, and still answers health", async () => {
    const gated = gatedModel();
    const { port, log } = await serve({ maxPending: 2 }, gated.model);
    // Two predictions held by the model take both places.
    const held = [predict(port, ["one"]), predict(port, ["two"])];
    while (gated.started() < 2) await new Promise((r) => setTimeout(r, 10));

    const shed = await predict(port, ["one too many"]);
    expect(shed.status).toBe(503);
    expect(shed.headers.get("retry-after")).toBe("1");
    expect(((await shed.json()) as { error: { message: string } }).error.message).toMatch(
      /overloaded \(2 predictions pending\): retry later/,
    );
    // Health checks are not predictions: they are answered while the queue is full.
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    // One summary line, not one per refusal.
    expect((await predict(port, ["and another"])).status).toBe(503);
    expect(log.entries.filter((e) => /answering 503/.test(e.message))).toHaveLength(1);

    gated.release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
    const after = predict(port, ["room again"]);
    while (gated.started() < 3) await new Promise((r) => setTimeout(r, 10));
    gated.release();
    expect((await after).status).toBe(200);
  });

  it("sheds a body the byte budget cannot hold, while slow bodies hold only the bytes they sent", async () => {
    const { port } = await serve({ maxBufferedBytes: 64 * 1024, maxPending: 100 });
    // Slow bodies that declare 60 KB each but have sent a few bytes: they hold almost nothing.
    const head = (length: number): string =>
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{"texts": [`;
    const slow = [open(port, head(60_000)), open(port, head(60_000)), open(port, head(60_000))];
    await Promise.all(slow.map((c) => connected(c.socket)));
    expect((await predict(port, ["still fine"])).status).toBe(200);

    // One that has sent 50 KB of its body holds 50 KB: a second large body cannot fit beside it.
    const big = open(port, head(60_000));
    big.socket.write(`"${"a".repeat(50_000)}`);
    await new Promise((r) => setTimeout(r, 100));
    const refused = await predict(port, ["b".repeat(30_000)]);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("connection")).toBe("close");
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /65536 bytes of request bodies held/,
    );
    // Small bodies still fit, and the budget comes back when a body goes.
    expect((await predict(port, ["small"])).status).toBe(200);
    big.socket.destroy();
    await big.done;
    expect((await predict(port, ["b".repeat(30_000)])).status).toBe(200);
  });
});
