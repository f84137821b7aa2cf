// What moves the int8 server's CPU cost per request between invocations: the baseline (Flask + PyTorch) and the int8
// predict server with two inference workers (the default on 2 CPUs) and with one, at concurrency 8, in short rotating
// rounds, each round's figures printed beside the machine's load, the load client's own CPU per request, and the
// rows per ONNX run; then each server's median and range over the rounds, and the ratio to the baseline per round.
//
//   BENCH_ROUNDS=6 BENCH_ROUND_SECONDS=3 npx tsx bench/serving/rounds.ts
import { loadavg } from "node:os";
import { join } from "node:path";
import { closedLoop } from "./closed-loop.ts";
import { cpuSeconds, startFlaskBaseline, startPredictServer, stopServer, type Running } from "./servers.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { ensureSampleModel, samplePath } from "../support/sample-model.ts";
import { readFileSync } from "node:fs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 3);
const C = 8;
const log = new JsonLogger({ labels: { component: "bench:rounds" }, minSeverity: "WARNING" });

interface Round {
  round: number;
  reqPerS: number;
  cpuMsPerReq: number;
  clientCpuMsPerReq: number;
  rowsPerRun: number | null;
  load1: number;
}

async function batches(s: Running): Promise<{ batches: number; rows: number } | null> {
  try {
    const body = (await (await fetch(`${s.url}/health`)).json()) as {
      batches?: { batches: number; rows: number };
    };
    return body.batches ?? null;
  } catch {
    return null;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const range = (xs: number[], d = 1): string =>
  `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;

async function main(): Promise<void> {
  const { trainDir, py } = await ensureSampleModel("minilm", log);
  const bodies = readFileSync(samplePath(), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { title?: unknown; text?: unknown; price?: unknown })
    .filter((r) => typeof r.text === "string" && r.text.trim() !== "")
    .map((r) =>
      JSON.stringify({ instances: [{ title: r.title ?? null, text: r.text, price: r.price ?? null }] }),
    );
  const node = (workers: number, port: number): NodeJS.ProcessEnv => ({
    ...process.env,
    MODEL_URI: join(trainDir, "model"),
    PORT: String(port),
    SERVING_WORKERS: String(workers),
    SERVING_THREADS: "1",
  });
  const servers: Running[] = [];
  try {
    servers.push(await startFlaskBaseline("baseline", py, trainDir, "minilm", 2));
    servers.push(await startPredictServer("int8, 2 workers", (port) => node(2, port)));
    servers.push(await startPredictServer("int8, 1 worker", (port) => node(1, port)));
    const rounds = new Map<Running, Round[]>(servers.map((s) => [s, []]));
    // No warm-up on purpose: round 1 shows what a short window right after start measures.
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(k + r) % servers.length]!;
        const before = { cpu: cpuSeconds(s.child.pid!), client: process.cpuUsage(), b: await batches(s) };
        const res = await closedLoop({
          url: s.url,
          connections: C,
          seconds: SECONDS,
          next: (i) => ({ method: "POST", path: "/predict", body: bodies[i % bodies.length]! }),
        });
        const cpu = cpuSeconds(s.child.pid!) - before.cpu;
        const client = process.cpuUsage(before.client);
        const after = await batches(s);
        rounds.get(s)!.push({
          round: r + 1,
          reqPerS: res.throughput,
          cpuMsPerReq: (1000 * cpu) / Math.max(1, res.requests),
          clientCpuMsPerReq: (client.user + client.system) / 1000 / Math.max(1, res.requests),
          rowsPerRun:
            before.b && after
              ? (after.rows - before.b.rows) / Math.max(1, after.batches - before.b.batches)
              : null,
          load1: loadavg()[0]!,
        });
      }
    }
    for (const s of servers) {
      console.log(`\n${s.name}`);
      for (const x of rounds.get(s)!)
        console.log(
          `  round ${x.round}: ${x.reqPerS.toFixed(1)} req/s, server CPU ${x.cpuMsPerReq.toFixed(1)} ms/req, client CPU ${x.clientCpuMsPerReq.toFixed(2)} ms/req${x.rowsPerRun !== null ? `, ${x.rowsPerRun.toFixed(2)} rows per ONNX run` : ""}, load ${x.load1.toFixed(1)}`,
        );
    }
    const base = rounds.get(servers[0]!)!;
    console.log(
      "\n| server | req/s median (range) | server CPU ms/req median (range) | ratio to baseline, same round: median (range) |",
    );
    console.log("|---|---:|---:|---:|");
    for (const s of servers) {
      const xs = rounds.get(s)!;
      const ratio = xs.map((x, i) => x.reqPerS / base[i]!.reqPerS);
      console.log(
        `| ${s.name} | ${range(xs.map((x) => x.reqPerS))} | ${range(xs.map((x) => x.cpuMsPerReq))} | ${range(ratio, 2)}x |`,
      );
    }
    console.log(
      `load average at the end ${loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}; ${ROUNDS} rounds of ${SECONDS} s at concurrency ${C}`,
    );
  } finally {
    for (const s of servers) await stopServer(s);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
