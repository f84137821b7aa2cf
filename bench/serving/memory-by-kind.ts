// Where the predict server's memory goes under a long soak: one kind of request at a time against a fresh server,
// its RSS read from /proc every 5,000 requests. Tells a leak (growth that a sized heap does not stop) from garbage V8
// has not collected yet (growth that stops under a heap limit).
//
//   npx tsx bench/serving/memory-by-kind.ts [valid|invalid] [--workers N] [--requests N] [--heap-mib N]
//
// Serves the benchmarks' sample model (bench/support/sample-model.ts; trained first when not cached). `--heap-mib`
// starts the server with `--max-old-space-size=N --max-semi-space-size=1`.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { JsonLogger } from "../../platform/json-logger.ts";
import { ROOT, ensureSampleModel, samplePath } from "../support/sample-model.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    workers: { type: "string", default: "2" },
    requests: { type: "string", default: "30000" },
    "heap-mib": { type: "string" },
  },
});
const kind = positionals[0] ?? "valid";
if (kind !== "valid" && kind !== "invalid") throw new Error(`kind must be valid or invalid, got ${kind}`);
const total = Number(values.requests);
const step = 5000;

const log = new JsonLogger({ labels: { component: "bench:serving-memory" }, minSeverity: "WARNING" });
const { trainDir } = await ensureSampleModel(process.env.BENCH_SERVING_MODEL ?? "minilm", log);
const port = 18_000 + Math.floor(Math.random() * 1000);
const heap = values["heap-mib"];
const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "serving/server.ts")], {
  cwd: ROOT,
  env: {
    ...process.env,
    NODE_OPTIONS: heap ? `--max-old-space-size=${heap} --max-semi-space-size=1` : "",
    MODEL_URI: join(trainDir, "model"),
    PORT: String(port),
    SERVING_WORKERS: values.workers,
    SERVING_THREADS: values.workers === "0" ? "2" : "1",
  },
  stdio: ["ignore", "ignore", "inherit"],
});
const rssMiB = (): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]) / 1024;

try {
  for (let i = 0; ; i += 1) {
    if (i === 300) throw new Error("the server did not answer /health within 60 s");
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const texts = readFileSync(samplePath(), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => (JSON.parse(l) as { text: string }).text);
  let n = 0;
  const body = (i: number): string =>
    kind === "valid"
      ? JSON.stringify({ instances: [texts[i % texts.length]] })
      : '{"instances": [{"text": 12}]}';
  const points = [`start ${rssMiB().toFixed(0)}`];
  const statuses: Record<string, number> = {};
  for (let done = 0; done < total; done += step) {
    const r = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections: 8,
      amount: step,
      headers: { "content-type": "application/json" },
      requests: [{ method: "POST", path: "/predict", setupRequest: (req) => ({ ...req, body: body(n++) }) }],
    });
    for (const [code, stats] of Object.entries(r.statusCodeStats ?? {}))
      statuses[code] = (statuses[code] ?? 0) + (stats.count ?? 0);
    points.push(`${done + step}: ${rssMiB().toFixed(0)}`);
  }
  console.log(
    `${kind} requests, ${values.workers} workers, heap ${heap ? `${heap} MiB` : "default"}; statuses ${JSON.stringify(statuses)}; server RSS MiB ${points.join(", ")}`,
  );
} finally {
  child.kill("SIGTERM");
}
