// The int8 predict server under hostile clients, loopback only, bounded counts and times: a slowloris mix (connections
// past SERVING_MAX_CONNECTIONS, trickling headers or bodies) and a big-body mix (many concurrent bodies near the 1.5 MB
// limit), each beside a stream of valid predictions at concurrency 8 and a health check every 50 ms.
//
//   npx tsx bench/serving/hostile.ts
//
// Reports health p50/p99/max per phase, the server's RSS before, during (max) and after each phase, and every answer
// by status (each must be a 2xx, a 4xx or a 503). BENCH_HOSTILE_SECONDS (per phase, default 20), BENCH_HOSTILE_SLOW
// (slowloris connections, default 1500), BENCH_HOSTILE_BIG (concurrent big bodies, default 300); the server runs with
// SERVING_READ_TIMEOUT_MS=10000 so that the phase sees slowloris connections timed out and replaced.
import { spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { closedLoop, type LoadResult } from "./closed-loop.ts";
import { freePort, rssMiB, startServer, stopServer, type Running } from "./servers.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { ensureSampleModel, samplePath } from "../support/sample-model.ts";
import { readFileSync } from "node:fs";

const SECONDS = Number(process.env.BENCH_HOSTILE_SECONDS ?? 20);
const SLOW = Number(process.env.BENCH_HOSTILE_SLOW ?? 1500);
const BIG = Number(process.env.BENCH_HOSTILE_BIG ?? 300);
/** Phases to run (calm, slowloris, big), comma-separated; default all. */
const PHASES = (process.env.BENCH_HOSTILE_PHASES ?? "calm,slowloris,big").split(",");
const log = new JsonLogger({ labels: { component: "bench:hostile" }, minSeverity: "WARNING" });

interface Health {
  latencies: number[];
  byStatus: Record<string, number>;
  errors: number;
}

/**
 * GET /health every 50 ms on one keep-alive connection until `until` resolves, from a process of its own: this process
 * also writes hundreds of 1.4 MB bodies, and its event loop must not delay the probe's clock.
 */
async function probeHealth(url: string, until: Promise<unknown>): Promise<Health> {
  const script = `
    const { Agent, request } = require("node:http");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const out = { latencies: [], byStatus: {}, errors: 0 };
    let done = false;
    process.stdin.on("data", () => (done = true));
    (async () => {
      while (!done) {
        const started = performance.now();
        await new Promise((resolve) => {
          const req = request(${JSON.stringify(url)} + "/health", { agent, timeout: 30000 }, (res) => {
            res.resume();
            res.on("end", () => {
              out.latencies.push(performance.now() - started);
              out.byStatus[res.statusCode] = (out.byStatus[res.statusCode] || 0) + 1;
              resolve();
            });
          });
          req.on("timeout", () => req.destroy(new Error("timeout")));
          req.on("error", () => { out.errors += 1; resolve(); });
          req.end();
        });
        await new Promise((r) => setTimeout(r, 50));
      }
      process.stdout.write(JSON.stringify(out));
      process.exit(0);
    })();`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  let text = "";
  child.stdout.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise((r) => child.once("exit", r));
  await until;
  child.stdin.write("stop\n");
  await exited;
  return JSON.parse(text) as Health;
}

/** Slowloris: `count` connections that trickle a byte a second, half of them in headers and half in a body. */
function slowloris(
  port: number,
  count: number,
  seconds: number,
): Promise<{ answered: Record<string, number>; closedUnanswered: number }> {
  const answered: Record<string, number> = {};
  let closedUnanswered = 0;
  const sockets: Socket[] = [];
  const end = Date.now() + seconds * 1000;
  const openOne = (k: number): void => {
    if (Date.now() >= end) return;
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString()));
    s.on("error", () => undefined);
    s.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (status) answered[status] = (answered[status] ?? 0) + 1;
      else closedUnanswered += 1;
      // An attacker reconnects at once.
      setTimeout(() => openOne(k), 100);
    });
    s.write(
      k % 2 === 0
        ? "GET /health HTTP/1.1\r\nHost: x\r\n"
        : 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"texts": ["',
    );
  };
  for (let k = 0; k < count; k++) openOne(k);
  const drip = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write("a");
  }, 1000);
  return new Promise((resolve) =>
    setTimeout(() => {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
      setTimeout(() => resolve({ answered, closedUnanswered }), 200);
    }, seconds * 1000),
  );
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

function healthLine(h: Health): string {
  return `health p50 ${pct(h.latencies, 50).toFixed(1)} ms, p99 ${pct(h.latencies, 99).toFixed(1)} ms, max ${Math.max(...h.latencies).toFixed(1)} ms over ${h.latencies.length} checks, statuses ${JSON.stringify(h.byStatus)}, errors ${h.errors}`;
}

/** RSS sampled every 200 ms while `p` runs: its max. */
async function withRss<T>(pid: number, p: Promise<T>): Promise<{ value: T; maxRss: number }> {
  let maxRss = rssMiB(pid);
  const timer = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(pid))), 200);
  const value = await p;
  clearInterval(timer);
  return { value, maxRss };
}

function statuses(...rs: { byStatus: Record<string, number> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.byStatus)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The server's own account of its memory (the main thread's view), from /health. */
async function memory(url: string): Promise<string> {
  try {
    const body = (await (await fetch(`${url}/health`)).json()) as { memory?: unknown };
    return JSON.stringify(body.memory ?? null);
  } catch (e) {
    return `(unavailable: ${(e as Error).message})`;
  }
}

const allowed = (byStatus: Record<string, number>): boolean =>
  Object.keys(byStatus).every((k) => k.startsWith("2") || k.startsWith("4") || k === "503");

async function main(): Promise<void> {
  const { trainDir } = await ensureSampleModel(process.env.BENCH_SERVING_MODEL ?? "minilm", log);
  const reviews = readFileSync(samplePath(), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { title?: unknown; text?: unknown })
    .filter((r) => typeof r.text === "string" && r.text.trim() !== "");
  const bodies = reviews.map((r) =>
    JSON.stringify({ instances: [{ title: r.title ?? null, text: r.text }] }),
  );
  const port = await freePort();
  const up = (): string =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
  console.log(
    `load average ${up()}; ${SECONDS} s per phase, ${SLOW} slowloris connections, ${BIG} big bodies at once`,
  );
  const server: Running = await startServer(
    "predict server, int8",
    process.execPath,
    // BENCH_HOSTILE_NODE_FLAGS: node flags for diagnosis (e.g. --trace-gc, with BENCH_SERVER_STDOUT naming a file).
    [
      ...(process.env.BENCH_HOSTILE_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      "serving/server.ts",
    ],
    {
      ...process.env,
      MODEL_URI: join(trainDir, "model"),
      PORT: String(port),
      SERVING_READ_TIMEOUT_MS: "10000",
      // As the serving image runs it (deploy/images/serving/Dockerfile): a sized JS heap.
      NODE_OPTIONS: "--max-old-space-size=1024",
    },
    port,
  );
  const pid = server.child.pid!;
  const valid = (seconds: number): Promise<LoadResult> =>
    closedLoop({
      url: server.url,
      connections: 8,
      seconds,
      next: (i) => ({ method: "POST", path: "/predict", body: bodies[i % bodies.length]! }),
    });
  try {
    await valid(3); // warm-up
    const seen: { byStatus: Record<string, number> }[] = [];

    if (PHASES.includes("calm")) {
      // Valid predictions only, for the health figures to compare with.
      const calm = valid(SECONDS);
      const calmHealth = await probeHealth(server.url, calm);
      const calmLoad = await calm;
      seen.push(calmLoad, calmHealth);
      console.log(
        `calm: ${calmLoad.throughput.toFixed(1)} req/s valid, ${healthLine(calmHealth)}; load ${up()}`,
      );
    }

    if (PHASES.includes("slowloris")) {
      // Slowloris beside valid predictions and health checks on connections opened a second before it (past
      // maxConnections the server closes new connections, whoever opens them).
      const rssBefore = rssMiB(pid);
      const slowLoad = valid(SECONDS + 1);
      const slowHealth = probeHealth(server.url, slowLoad);
      await new Promise((r) => setTimeout(r, 1000));
      const slowRun = slowloris(port, SLOW, SECONDS);
      const slow = await withRss(pid, Promise.all([slowRun, slowLoad, slowHealth]));
      const [slowResult, slowValid, slowH] = slow.value;
      const rssAfter = rssMiB(pid);
      seen.push(slowValid, slowH, { byStatus: slowResult.answered });
      console.log(
        `slowloris: valid ${slowValid.throughput.toFixed(1)} req/s ${JSON.stringify(slowValid.byStatus)} errors ${slowValid.errors}; slow connections answered ${JSON.stringify(slowResult.answered)}, closed unanswered (over maxConnections) ${slowResult.closedUnanswered}; ${healthLine(slowH)}; RSS before ${rssBefore.toFixed(0)} MiB, max ${slow.maxRss.toFixed(0)}, after ${rssAfter.toFixed(0)}; load ${up()}`,
      );
    }

    if (PHASES.includes("big")) {
      // BIG concurrent bodies of ~1.4 MB (one 1.4 MB review, or 64 reviews of 22 KB) beside valid predictions.
      const rssBefore = rssMiB(pid);
      const one = JSON.stringify({ instances: [{ text: "this cable works well and ".repeat(54_000) }] });
      const many = JSON.stringify({
        instances: Array.from({ length: 64 }, () => ({ text: "great value for money ".repeat(1000) })),
      });
      const bigValid = valid(SECONDS + 1);
      const bigHealth = probeHealth(server.url, bigValid);
      await new Promise((r) => setTimeout(r, 1000));
      const bigRun = closedLoop({
        url: server.url,
        connections: BIG,
        seconds: SECONDS,
        next: (i) => ({ method: "POST", path: "/predict", body: i % 2 === 0 ? one : many }),
      });
      const big = await withRss(pid, Promise.all([bigRun, bigValid, bigHealth]));
      const [bigResult, bigV, bigH] = big.value;
      const memEnd = await memory(server.url);
      await new Promise((r) => setTimeout(r, 5000));
      const rssAfter = rssMiB(pid);
      console.log(
        `server memory (MiB) at the end of the phase ${memEnd}, 5 s later ${await memory(server.url)}`,
      );
      seen.push(bigResult, bigV, bigH);
      console.log(
        `big bodies (${(one.length / 1e6).toFixed(2)} and ${(many.length / 1e6).toFixed(2)} MB): ${bigResult.requests} answers ${JSON.stringify(bigResult.byStatus)} errors ${bigResult.errors}; valid ${bigV.throughput.toFixed(1)} req/s ${JSON.stringify(bigV.byStatus)} errors ${bigV.errors}; ${healthLine(bigH)}; RSS before ${rssBefore.toFixed(0)} MiB, max ${big.maxRss.toFixed(0)}, 5 s after ${rssAfter.toFixed(0)}; load ${up()}`,
      );
    }
    const every = statuses(...seen);
    console.log(`every answer: ${JSON.stringify(every)}; only 2xx, 4xx and 503: ${allowed(every)}`);
  } finally {
    await stopServer(server);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
