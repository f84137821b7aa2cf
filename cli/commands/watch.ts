// `sentiment-pipeline watch RUN`: follows a run from any process, live, until it reaches its outcome.
import { RunId } from "../../schemas/names.ts";
import { readRunEvents } from "../../functions/run-event-log.ts";
import { outputMode, parse, positiveNumber, type Io } from "../args.ts";
import { loadCliConfig, openContext, UsageError, type CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { followRun } from "../follow/follow-run.ts";
import { printerFor, type Printer } from "../follow/printers.ts";
import { summarize } from "../follow/summary.ts";

export const WATCH_USAGE = `usage: sentiment-pipeline watch RUN [--timeout SECONDS] [--interval MS] [--json]

Follows a run: each step with its state, attempt, elapsed time and progress (trials, epochs, evaluation
batches), the events as they happen, and finally the outcome, why, and where the report is. Works from any
terminal: it reads the run's state and its event log (runs/RUN/events.jsonl) from the bucket.`;

export async function watchCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { timeout: { type: "string" }, interval: { type: "string" } },
    WATCH_USAGE,
  );
  if (values.help) return help(io, WATCH_USAGE);
  const runId = runArg(positionals, WATCH_USAGE);
  const ctx = openContext(loadCliConfig(values, io.env));
  await requireRun(ctx, runId);
  const timeout = positiveNumber(values.timeout, "--timeout");
  return followAndReport(ctx, io, runId, values.json, {
    ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    intervalMs: positiveNumber(values.interval, "--interval") ?? 500,
  });
}

/** Follows until the run settles (or the timeout, or Ctrl-C), prints the summary, returns the exit status. */
export async function followAndReport(
  ctx: CliContext,
  io: Io,
  runId: string,
  json: boolean,
  options: {
    timeoutMs?: number;
    intervalMs?: number;
    printer?: Printer;
    /** This process drives the run (embedded `run`/`retrigger`): no "is anyone driving it?" hint. */
    driven?: boolean;
    /** Awaited after the run settles and before the summary: the embedded runtime finishing its observers. */
    beforeSummary?: () => Promise<void>;
  } = {},
): Promise<number> {
  const printer = options.printer ?? printerFor(outputMode(json, io.out), io.out);
  let warned = false;
  const result = await followRun({
    store: ctx.store,
    ledger: ctx.ledger,
    runId,
    intervalMs: options.intervalMs ?? 500,
    signal: io.signal,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    onUpdate: (view, fresh) => {
      printer.update(view, fresh);
      // In embedded mode a run moves only while the process that started it lives.
      if (!warned && !options.driven && ctx.config.runtime.mode === "embedded" && view.status === "running") {
        const idle = Date.now() - Date.parse(view.updatedAt ?? new Date().toISOString());
        if (idle > 120_000) {
          warned = true;
          printer.note(
            `note: nothing has happened for ${Math.round(idle / 60_000)} min. In embedded mode a run moves only while the \`sentiment-pipeline run\` (or \`npm run demo\`) process that started it is alive; restart it with \`sentiment-pipeline retrigger ${runId} --from STEP --reason ...\`.`,
          );
        }
      }
    },
  });
  if (!result.aborted && !result.timedOut) await options.beforeSummary?.();
  const summary = await summarize(ctx, result.view);
  if (result.aborted) {
    printer.finish(result.view, { ...summary, exitCode: EXIT.interrupted });
    return EXIT.interrupted;
  }
  if (result.timedOut) {
    printer.note(
      `still ${result.view.status} after the timeout; follow it again with \`sentiment-pipeline watch ${runId}\``,
    );
    printer.finish(result.view, summary);
    return EXIT.running;
  }
  printer.finish(result.view, summary);
  return summary.exitCode;
}

export function runArg(positionals: string[], usage: string): string {
  const [runId, ...rest] = positionals;
  if (!runId) throw new UsageError(`which run? (sentiment-pipeline runs lists them)\n\n${usage}`);
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}\n\n${usage}`);
  const parsed = RunId.safeParse(runId);
  if (!parsed.success)
    throw new UsageError(`${JSON.stringify(runId)} is not a run id: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** An unknown run is a usage error; a run whose state is not written yet but whose events are, is followed. */
export async function requireRun(ctx: CliContext, runId: string): Promise<void> {
  if (await ctx.ledger.get(runId)) return;
  if ((await readRunEvents(ctx.store, runId)).events.length > 0) return;
  throw new UsageError(
    `no run ${runId} in gs://${ctx.store.bucket}/runs/ (${ctx.config.runtime.mode} mode); \`sentiment-pipeline runs\` lists the recent ones`,
  );
}

export function help(io: Io, usage: string): number {
  io.out.write(`${usage}\n`);
  return EXIT.ok;
}
