// Data preparation throughput and peak memory on generated reviews: the prepare job (streaming) against a pandas
// script doing the same cleaning, labelling, dedupe, split and scaling (bench/prepare/pandas_baseline.py), run
// back to back in one invocation; then the prepare job alone at 1/4 and 1/2 of the rows, to show its memory
// stays flat as the input grows.
//
//   npm run bench -- prepare            (BENCH_PREPARE_ROWS=1000000 by default; BENCH_PYTHON picks the python)
//
// Each command runs as its own process under GNU time (or /proc polling where that is missing): wall seconds and
// peak resident memory of exactly that process.
import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { once } from "node:events";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { generateReviews } from "../../gpu-jobs/prepare/generator/generate-reviews.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const WORK = join(ROOT, ".local/bench/prepare");
const ROWS = Number(process.env.BENCH_PREPARE_ROWS ?? 1_000_000);
const SEED = 1;

interface Measure {
  seconds: number;
  /** User plus system CPU seconds: steadier than wall time on a shared machine. */
  cpuSeconds: number | null;
  peakMiB: number;
  stdout: string;
}

async function generate(rows: number): Promise<string> {
  const file = join(WORK, `clean-${rows}-s${SEED}.jsonl`);
  if (existsSync(file)) return file;
  mkdirSync(WORK, { recursive: true });
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  let buffer = "";
  for (const review of generateReviews({ rows, seed: SEED, scenario: "clean" })) {
    buffer += `${JSON.stringify(review)}\n`;
    if (buffer.length >= 1 << 20) {
      if (!out.write(buffer)) await once(out, "drain");
      buffer = "";
    }
  }
  out.end(buffer);
  await once(out, "close");
  execFileSync("mv", [tmp, file]);
  return file;
}

/** Runs a command and measures it: GNU time's %e and %M when installed, else VmHWM polled from /proc. */
async function measure(command: string, args: string[]): Promise<Measure> {
  const gnuTime = existsSync("/usr/bin/time");
  const started = performance.now();
  const child = gnuTime
    ? spawn("/usr/bin/time", ["-f", "__TIME__ %e %M %U %S", command, ...args], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peakKiB = 0;
  const poll = gnuTime
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
        } catch {
          // gone
        }
      }, 20);
  const [code] = (await once(child, "exit")) as [number | null];
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited ${code}:\n${stderr.slice(-2000)}`);
  let seconds = (performance.now() - started) / 1000;
  let cpuSeconds: number | null = null;
  const m = /__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (m) {
    seconds = Number(m[1]);
    peakKiB = Number(m[2]);
    cpuSeconds = Number(m[3]) + Number(m[4]);
  }
  return { seconds, cpuSeconds, peakMiB: peakKiB / 1024, stdout };
}

function summary(m: Measure) {
  return {
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    rowsPerSecond: Math.round(ROWS / m.seconds),
    peakMiB: Math.round(m.peakMiB),
  };
}

function python(): string {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  return execFileSync("bash", [join(ROOT, "gpu-jobs/trainer/scripts/ensure-venv.sh")], {
    encoding: "utf8",
  }).trim();
}

function ours(input: string, out: string): Promise<Measure> {
  rmSync(out, { recursive: true, force: true });
  return measure(process.execPath, [
    "--import",
    "tsx",
    "gpu-jobs/prepare/cli.ts",
    "--input",
    input,
    "--out",
    out,
  ]);
}

const py = python();
execFileSync(py, ["-c", "import pandas"], { stdio: "inherit" });
console.log(`generating ${ROWS.toLocaleString("en")} clean reviews (cached under ${WORK}) ...`);
const full = await generate(ROWS);
const bytes = readFileSync(full).length;

console.log("pandas baseline ...");
rmSync(join(WORK, "out-pandas"), { recursive: true, force: true });
const pandas = await measure(py, ["bench/prepare/pandas_baseline.py", full, join(WORK, "out-pandas")]);
const pandasStats = JSON.parse(pandas.stdout.trim().split("\n").at(-1)!) as { rowsKept: number };
console.log("prepare job ...");
const prep = await ours(full, join(WORK, "out-prepare"));
const ourStats = JSON.parse(readFileSync(join(WORK, "out-prepare/stats.json"), "utf8")) as {
  rowsKept: number;
};
if (ourStats.rowsKept !== pandasStats.rowsKept) {
  throw new Error(
    `the two disagree on kept rows: prepare ${ourStats.rowsKept}, pandas ${pandasStats.rowsKept}`,
  );
}

const flat: { rows: number; m: Measure }[] = [];
for (const rows of [Math.floor(ROWS / 4), Math.floor(ROWS / 2)]) {
  console.log(`prepare job on ${rows.toLocaleString("en")} rows ...`);
  flat.push({ rows, m: await ours(await generate(rows), join(WORK, `out-prepare-${rows}`)) });
}
flat.push({ rows: ROWS, m: prep });

const result = {
  rows: ROWS,
  inputMiB: +(bytes / 2 ** 20).toFixed(1),
  keptRows: ourStats.rowsKept,
  pandas: summary(pandas),
  prepare: summary(prep),
  throughputRatio: +(pandas.seconds / prep.seconds).toFixed(2),
  cpuTimeRatio:
    pandas.cpuSeconds && prep.cpuSeconds ? +(pandas.cpuSeconds / prep.cpuSeconds).toFixed(2) : null,
  memoryRatio: +(prep.peakMiB / pandas.peakMiB).toFixed(3),
  prepareBySize: flat.map(({ rows, m }) => ({ rows, seconds: m.seconds, peakMiB: Math.round(m.peakMiB) })),
  loadAverage: loadavg().map((l) => +l.toFixed(1)),
};
writeFileSync(join(WORK, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
const line = (name: string, s: ReturnType<typeof summary>): string =>
  `  ${name.padEnd(8)} ${s.seconds.toFixed(1)} s (CPU ${s.cpuSeconds?.toFixed(1) ?? "?"} s)  ` +
  `${s.rowsPerSecond.toLocaleString("en")} rows/s  peak ${s.peakMiB} MiB`;
console.log(
  `\n${ROWS.toLocaleString("en")} rows (${result.inputMiB} MiB JSONL), one invocation, same machine:`,
);
console.log(line("pandas", result.pandas));
console.log(line("prepare", result.prepare));
console.log(
  `  throughput ${result.throughputRatio}x pandas by wall time, ${result.cpuTimeRatio ?? "?"}x by CPU time (goal >= 2); ` +
    `peak memory ${result.memoryRatio}x pandas (goal <= 0.25)`,
);
console.log(
  `  prepare peak memory by input size: ${result.prepareBySize.map((s) => `${s.rows.toLocaleString("en")} rows ${s.peakMiB} MiB`).join(", ")}`,
);
console.log(
  `  load average at the end: ${result.loadAverage.join(", ")} (a shared machine: compare ratios, not times)`,
);
const ok = result.throughputRatio >= 2 && result.memoryRatio <= 0.25;
console.log(ok ? "  goals met" : "  GOALS NOT MET");
process.exitCode = ok ? 0 : 1;
