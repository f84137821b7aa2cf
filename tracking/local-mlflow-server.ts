// A local MLflow tracking server for the demo and the CLI: SQLite store under LOCAL_ROOT/mlflow, loopback, a free port.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { trainerPython } from "../platform/local/trainer-python.ts";
import { MlflowRestTracker } from "./mlflow-rest-tracker.ts";
import { findPipelineRun, pipelineRunUrl } from "./pipeline-run.ts";

export interface LocalMlflowServer {
  /** http://127.0.0.1:PORT: the tracking URI and the UI. */
  readonly uri: string;
  readonly port: number;
  /** Folder with mlflow.db, the artifacts and server.log. */
  readonly dir: string;
  stop(): Promise<void>;
}

export interface StartMlflowOptions {
  /** Folder for the store; the same folder keeps every earlier run's experiments. */
  dir: string;
  /** The Python with mlflow installed; by default the trainer's environment. */
  python?: string;
  port?: number;
  /** A fresh SQLite store migrates its schema on first start: on a busy laptop that takes a minute. */
  timeoutMs?: number;
}

/**
 * The arguments (after the trainer's python) and environment of a loopback MLflow tracking server over a SQLite store
 * and a local artifact folder in `dir`; the demo's server and the emulator stack's both start it this way.
 */
export function mlflowServerCommand(
  dir: string,
  port: number,
): { args: string[]; env: Record<string, string> } {
  return {
    args: [
      "-m",
      "mlflow",
      "server",
      "--backend-store-uri",
      `sqlite:///${join(dir, "mlflow.db")}`,
      "--artifacts-destination",
      join(dir, "artifacts"),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
    ],
    // The tracking server alone: MLflow 3's background job runner forks processes a tracking store does not need.
    env: { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false" },
  };
}

/** Starts `python -m mlflow server` and resolves once /health answers; rejects with the server log's tail otherwise. */
export async function startLocalMlflow(options: StartMlflowOptions): Promise<LocalMlflowServer> {
  const dir = resolve(options.dir);
  mkdirSync(join(dir, "artifacts"), { recursive: true });
  const port = options.port ?? (await freePort());
  const python = options.python ?? trainerPython();
  const logFile = join(dir, "server.log");
  const out = createWriteStream(logFile, { flags: "a" });
  const server = mlflowServerCommand(dir, port);
  const child = spawn(python, server.args, {
    // Its own process group: the server forks uvicorn, and stop() must take both down.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...server.env },
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let exited: number | null | undefined;
  const exit = new Promise<void>((r) =>
    child.on("exit", (code) => {
      exited = code;
      r();
    }),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  // Never leave a server behind when this process ends, however it ends.
  const onExit = () => killGroup("SIGTERM");
  process.once("exit", onExit);

  const uri = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  for (;;) {
    if (exited !== undefined) {
      process.removeListener("exit", onExit);
      throw new Error(`MLflow server exited with code ${exited} before answering:\n${tail(logFile)}`);
    }
    if (await healthy(uri)) break;
    if (Date.now() > deadline) {
      killGroup("SIGKILL");
      process.removeListener("exit", onExit);
      throw new Error(
        `MLflow server did not answer at ${uri} within ${options.timeoutMs ?? 180_000} ms:\n${tail(logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }

  return {
    uri,
    port,
    dir,
    async stop() {
      process.removeListener("exit", onExit);
      if (exited !== undefined) return;
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
      out.end();
    },
  };
}

async function healthy(uri: string): Promise<boolean> {
  try {
    const res = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.on("error", rej);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => res(port));
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

/** The MLflow UI page of a run's experiment, or the UI's front page when the experiment is not known. */
export function experimentUrl(uri: string, experimentId: string | null): string {
  return experimentId ? `${uri}/#/experiments/${experimentId}` : uri;
}

/**
 * The UI page of a pipeline run on a tracking server: its parent run in the model line's experiment, else the
 * experiment, else the server's front page.
 */
export async function runExperimentUrl(uri: string, experiment: string, runId: string): Promise<string> {
  try {
    const tracker = new MlflowRestTracker({ uri, timeoutMs: 5_000 });
    const found = await tracker.getExperimentByName(experiment);
    if (!found) return uri;
    const parent = await findPipelineRun(tracker, found.experimentId, runId);
    return pipelineRunUrl(uri, found.experimentId, parent?.runId ?? null);
  } catch {
    return uri;
  }
}
