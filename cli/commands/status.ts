// `sentiment-pipeline status [RUN]`: where a run stands now (the latest run when none is named), and why.
import { parse, type Io } from "../args.ts";
import { loadCliConfig, openContext, UsageError } from "../context.ts";
import { followRun } from "../follow/follow-run.ts";
import { summaryLines } from "../follow/printers.ts";
import { renderView } from "../follow/render-view.ts";
import { summarize } from "../follow/summary.ts";
import { printable } from "../../emulator/describe-event.ts";
import { help, requireRun, runArg } from "./watch.ts";

export const STATUS_USAGE = `usage: sentiment-pipeline status [RUN] [--json]

Shows a run's steps (state, attempt, time, progress), its decision trail and where its report is; without
RUN, the most recent run. The exit status tells the outcome (see --help).`;

export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {}, STATUS_USAGE);
  if (values.help) return help(io, STATUS_USAGE);
  const ctx = openContext(loadCliConfig(values, io.env));
  let runId: string;
  if (positionals.length > 0) runId = runArg(positionals, STATUS_USAGE);
  else {
    const [latest] = await ctx.ledger.list(1);
    if (!latest)
      throw new UsageError(`no runs yet in gs://${ctx.store.bucket}/runs/ (${ctx.config.runtime.mode} mode)`);
    runId = latest;
  }
  await requireRun(ctx, runId);
  const { view } = await followRun({
    store: ctx.store,
    ledger: ctx.ledger,
    runId,
    once: true,
    onUpdate: () => {},
  });
  const summary = await summarize(ctx, view);
  if (values.json) {
    const state = (await ctx.ledger.get(runId))?.state ?? null;
    io.out.write(
      `${JSON.stringify({
        ...summary,
        createdAt: view.createdAt,
        updatedAt: view.updatedAt,
        input: view.input,
        steps: view.steps,
        budgets: state?.budgets ?? null,
        artifacts: state?.artifacts ?? null,
      })}\n`,
    );
    return summary.exitCode;
  }
  const width = Math.max(60, io.out.columns - 1);
  const lines = renderView(view, new Date(), { color: io.out.color, width });
  lines.push("", "decisions:");
  for (const d of view.trail) lines.push(`  - ${printable(d)}`);
  lines.push("", ...summaryLines(summary, io.out.color));
  io.out.write(`${lines.join("\n")}\n`);
  return summary.exitCode;
}
