// `sentiment-pipeline run FILE`: uploads a review file, which starts a run, then follows the run to its outcome.
import { createReadStream, existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { ObjectName, gcsUri } from "../../schemas/names.ts";
import { deriveRunId, UPLOADS_PREFIX } from "../../functions/start-run.ts";
import { modelLineMetadata } from "../../events/object-notification.ts";
import type { LocalMlflowServer } from "../../tracking/local-mlflow-server.ts";
import { outputMode, parse, positiveNumber, type Io } from "../args.ts";
import { loadCliConfig, openContext, UsageError, type CliContext } from "../context.ts";
import { openEmbeddedSession, startSessionMlflow } from "../embedded-session.ts";
import { EXIT } from "../exit-codes.ts";
import { printerFor } from "../follow/printers.ts";
import { followAndReport, help } from "./watch.ts";

export const RUN_USAGE = `usage: sentiment-pipeline run FILE [--name NAME] [--model-line LINE] [--mlflow] [--detach] [--timeout SECONDS] [--json]

Uploads FILE (JSONL, JSONL.gz, CSV or CSV.gz reviews) to the bucket's uploads/ as NAME (default: the file's
name), which starts a run, then follows it like \`watch\` until its outcome.

  --model-line  the model line the run's model joins (lower-case words and digits joined by hyphens, e.g.
                books-3class): set as the object's model-line custom metadata, as
                \`gcloud storage cp --custom-metadata=model-line=LINE\` does; it outranks training.modelLine
  --mlflow      embedded mode: start a local MLflow server (SQLite under LOCAL_ROOT/mlflow) for this run, unless
                MLFLOW_TRACKING_URI names one; \`sentiment-pipeline mlflow\` browses it afterwards
  --detach      emulators and gcp modes: print the run id and return at once (exit 4); follow it with watch
  --timeout     stop following after this many seconds (exit 4; in embedded mode this also stops the run)

In embedded mode (the default) this process is the cloud: the functions and jobs run inside it, so the run
moves only while it lives. In emulators and gcp modes the run lives in the cloud; this only uploads and watches.`;

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      name: { type: "string" },
      "model-line": { type: "string" },
      mlflow: { type: "boolean", default: false },
      detach: { type: "boolean", default: false },
      timeout: { type: "string" },
    },
    RUN_USAGE,
  );
  if (values.help) return help(io, RUN_USAGE);
  const [file, ...rest] = positionals;
  if (!file || rest.length > 0) throw new UsageError(`run takes one FILE\n\n${RUN_USAGE}`);
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`no such file: ${path}`);
  const objectName = `${UPLOADS_PREFIX}${values.name ?? basename(path)}`;
  const name = ObjectName.safeParse(objectName);
  if (!name.success || objectName.endsWith("/"))
    throw new UsageError(
      `cannot upload as ${objectName}: ${name.error?.issues[0]?.message ?? "not a file name"}`,
    );
  const metadata = lineMetadata(values["model-line"]);
  const timeout = positiveNumber(values.timeout, "--timeout");
  const timeoutMs = timeout !== undefined ? timeout * 1000 : undefined;

  let config = loadCliConfig(values, io.env);
  const printer = printerFor(outputMode(values.json, io.out), io.out);
  const tell = (line: string) => (values.json ? io.err.write(`${line}\n`) : printer.note(line));

  if (config.runtime.mode !== "embedded") {
    if (values.mlflow)
      throw new UsageError(
        "--mlflow starts a local server for embedded mode; set MLFLOW_TRACKING_URI for the cloud's",
      );
    const ctx = openContext(config);
    const runId = await uploadToBucket(ctx, path, objectName, metadata);
    tell(`uploaded ${path} to ${gcsUri(ctx.store.bucket, objectName)}: run ${runId}`);
    if (values.detach) {
      if (values.json) io.out.write(`${JSON.stringify({ kind: "started", runId })}\n`);
      return EXIT.running;
    }
    return followAndReport(ctx, io, runId, values.json, { printer, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  if (values.detach)
    throw new UsageError(
      "--detach: in embedded mode the run lives in this process, so it cannot detach from it",
    );
  let mlflow: LocalMlflowServer | null = null;
  if (values.mlflow && !config.runtime.mlflowTrackingUri) {
    tell("starting a local MLflow server (the first start creates its store and takes a while)...");
    mlflow = await startSessionMlflow(config);
    config = loadCliConfig(values, io.env, { runtime: { mlflowTrackingUri: mlflow.uri } });
    tell(`MLflow tracking at ${mlflow.uri}`);
  }
  const session = openEmbeddedSession(openContext(config), tell, mlflow);
  try {
    tell(`logs: ${session.logFile}`);
    const { runId } = await session.runtime.upload(
      path,
      objectName.slice(UPLOADS_PREFIX.length),
      metadata ? { metadata } : {},
    );
    tell(`uploaded ${path} to ${gcsUri(config.runtime.bucket, objectName)}: run ${runId}`);
    const done = session.runtime.waitForRun(runId, timeoutMs ?? 24 * 3600_000).catch(() => null);
    const code = await followAndReport(session.ctx, io, runId, values.json, {
      printer,
      driven: true,
      ...(timeoutMs ? { timeoutMs } : {}),
      beforeSummary: async () => void (await done),
    });
    if (mlflow)
      tell(
        `the MLflow server stops with this command; \`sentiment-pipeline mlflow --port ${mlflow.port}\` serves the same store again`,
      );
    if (code === EXIT.interrupted || code === EXIT.running)
      tell(
        `the run stopped with this process; \`sentiment-pipeline status ${runId}\` shows where, \`sentiment-pipeline retrigger ${runId} --from STEP --reason TEXT\` restarts it`,
      );
    return code;
  } finally {
    await session.close();
  }
}

/** The custom metadata naming the run's model line: a bad --model-line fails here, before anything is uploaded. */
function lineMetadata(line: string | undefined): Record<string, string> | undefined {
  try {
    return modelLineMetadata(line);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Streams the file into uploads/ and derives the run id from the object's generation, as start-run does. */
async function uploadToBucket(
  ctx: CliContext,
  path: string,
  objectName: string,
  metadata: Record<string, string> | undefined,
): Promise<string> {
  const uri = gcsUri(ctx.store.bucket, objectName);
  await pipeline(createReadStream(path), ctx.store.createWriteStream(uri, metadata ? { metadata } : {}));
  const stat = await ctx.store.stat(uri);
  if (!stat) throw new Error(`${uri} is not there after the upload`);
  return deriveRunId(ctx.store.bucket, objectName, stat.generation);
}
