// The embedded mode's cloud inside the CLI process: the runtime, its log file, and an optional local MLflow server.
import { createWriteStream, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { PipelineConfig } from "../schemas/config.ts";
import { JsonLogger } from "../platform/json-logger.ts";
import { EmbeddedRuntime } from "../emulator/embedded/runtime.ts";
import { startLocalMlflow, type LocalMlflowServer } from "../tracking/local-mlflow-server.ts";
import type { CliContext } from "./context.ts";

export interface EmbeddedSession {
  runtime: EmbeddedRuntime;
  ctx: CliContext;
  logFile: string;
  close(): Promise<void>;
}

/** Where the local tracking store lives: one SQLite file for every run, so `sentiment-pipeline mlflow` shows them all. */
export function localMlflowDir(config: PipelineConfig): string {
  return resolve(config.runtime.localRoot, "mlflow");
}

/** Starts the demo's MLflow server for this process; the caller puts its URI into the config before the runtime. */
export function startSessionMlflow(config: PipelineConfig): Promise<LocalMlflowServer> {
  return startLocalMlflow({ dir: localMlflowDir(config) });
}

/**
 * Starts the runtime. Structured logs and job output go to LOCAL_ROOT/logs/cli-TIME.jsonl; warnings, errors and
 * job tracebacks also reach `note`, so a person sees why something went wrong without opening the file.
 */
export function openEmbeddedSession(
  ctx: CliContext,
  note: (line: string) => void,
  mlflow: LocalMlflowServer | null,
): EmbeddedSession {
  const config = ctx.config;
  const logs = resolve(config.runtime.localRoot, "logs");
  mkdirSync(logs, { recursive: true });
  const logFile = join(logs, `cli-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
  const stream = createWriteStream(logFile);
  const log = new JsonLogger({
    write: (line) => {
      stream.write(`${line}\n`);
      const severity = /"severity":"(\w+)"/.exec(line)?.[1];
      if (severity === "WARNING" || severity === "ERROR" || severity === "CRITICAL")
        note(`${severity.toLowerCase()}: ${/"message":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line}`);
    },
  });
  const runtime = new EmbeddedRuntime({
    config,
    log,
    onJobLine: (spec, stream_, line) => {
      stream.write(`${line}\n`);
      if (
        /"severity":"(ERROR|CRITICAL)"/.test(line) ||
        (stream_ === "stderr" && !line.startsWith("{") && /error|traceback/i.test(line))
      )
        note(`[${spec.step} a${spec.attempt}] ${line.slice(0, 300)}`);
    },
  });
  return {
    runtime,
    ctx: { ...ctx, store: runtime.store, ledger: runtime.ledger },
    logFile,
    async close() {
      await runtime.close();
      await mlflow?.stop();
      await new Promise<void>((r) => stream.end(r));
    },
  };
}
