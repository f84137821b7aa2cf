// The serving benchmarks' server processes: start one and time it to its first answer, stop it, and read its CPU time
// and memory from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { MAX_LENGTH, PARAMS, ROOT, SEED } from "../support/sample-model.ts";

/** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK: 100 on Linux). */
const CLOCK_TICKS = 100;

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Starts `serving/server.ts` on a free port, with the environment `env(port)` gives. */
export async function startPredictServer(
  name: string,
  env: (port: number) => NodeJS.ProcessEnv,
): Promise<Running> {
  const port = await freePort();
  return startServer(name, process.execPath, ["--import", "tsx", "serving/server.ts"], env(port), port);
}

/** Starts the Flask + PyTorch baseline (bench/serving/flask_baseline.py) over a trained run folder, on a free port. */
export async function startFlaskBaseline(
  name: string,
  python: string,
  trainDir: string,
  model: string,
  threads: number,
): Promise<Running> {
  const port = await freePort();
  const script = join(ROOT, "bench/serving/flask_baseline.py");
  const args = [script, trainDir, model, String(MAX_LENGTH), String(SEED), String(PARAMS.dropout)];
  return startServer(
    name,
    python,
    [...args, String(threads), String(port)],
    {
      ...process.env,
      PIPELINE_MODE: "embedded",
    },
    port,
  );
}

export interface Running {
  name: string;
  url: string;
  child: ChildProcess;
  coldStartMs: number;
}

/** Starts a server process and times process start to the first 200 answer to a prediction request. */
export async function startServer(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
): Promise<Running> {
  const url = `http://127.0.0.1:${port}`;
  const began = performance.now();
  // BENCH_SERVER_STDOUT: a file that receives the server's stdout (its JSON logs, or --trace-gc lines), for diagnosis.
  const out = process.env.BENCH_SERVER_STDOUT ? openSync(process.env.BENCH_SERVER_STDOUT, "a") : "ignore";
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", out, "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const body = JSON.stringify({
    instances: [{ title: "Cold start", text: "first answer after the process starts" }],
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/predict`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      await res.text();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() - began > 300_000)
      throw new Error(`${name} did not answer within 5 minutes: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { name, url, child, coldStartMs: performance.now() - began };
}

export async function stopServer(s: Running): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (s.child.exitCode === null) s.child.kill("SIGKILL");
}

export /** CPU time the process has used (user + system, all threads), from /proc: unaffected by other processes' load. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime), counted after the command name: indexes 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}
