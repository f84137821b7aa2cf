// The container server under hostile clients: a connection cap, a deadline for the whole request (slowloris), and a
// bounded queue of predictions that sheds the rest with 503 and Retry-After before reading their bodies.
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../emulator/embedded/local-object-store.ts";
import {
  startContainerServer,
  type RunningServer,
  type ServerLimits,
} from "../../functions/predict/container-server.ts";
import { loadServedModel } from "../../functions/predict/load-served-model.ts";
import { ModelHolder } from "../../functions/predict/model-holder.ts";
import { PredictService } from "../../functions/predict/predict-service.ts";
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
afterAll(() => undefined);

const LIMITS: ServerLimits = {
  maxConnections: 50,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  maxPending: 8,
};

async function serve(limits: Partial<ServerLimits>): Promise<{ port: number; log: CapturingLogger }> {
  const log = new CapturingLogger();
  const config = parseConfig({ serving: { modelUri: MODEL, workers: 0 } });
  const holder = new ModelHolder({
    log,
    load: () =>
      loadServedModel(config.serving, {
        store: () => new LocalObjectStore("bkt", join(root, "bucket")),
        registry: () => new MemoryRegistry(),
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

  it("sheds predictions past maxPending with 503 and Retry-After, without reading their bodies, and still answers health", async () => {
    const { port, log } = await serve({ maxPending: 2 });
    // Two predictions whose bodies never finish hold both places.
    const head =
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"texts": [';
    const holders = [open(port, head), open(port, head)];
    await Promise.all(holders.map((h) => connected(h.socket)));
    await new Promise((r) => setTimeout(r, 100));

    const shed = await predict(port, ["one too many"]);
    expect(shed.status).toBe(503);
    expect(shed.headers.get("retry-after")).toBe("1");
    expect(shed.headers.get("connection")).toBe("close");
    expect(((await shed.json()) as { error: { message: string } }).error.message).toMatch(
      /holds 2 predictions already/,
    );
    // Health checks are not predictions: they are answered while the queue is full.
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    // One summary line, not one per refusal.
    expect((await predict(port, ["and another"])).status).toBe(503);
    expect(log.entries.filter((e) => /predictions pending/.test(e.message))).toHaveLength(1);

    // A held request that finishes frees its place.
    const first = holders[0]!;
    const answered = new Promise<string>((resolve) =>
      first.socket.once("data", (d: Buffer) => resolve(d.toString())),
    );
    first.socket.write(`"done"]}${" ".repeat(1000 - '{"texts": ["done"]}'.length)}`);
    expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
    expect((await predict(port, ["room again"])).status).toBe(200);
  });
});
