// `sentiment-pipeline report RUN`: renders the run's HTML report into its folder now, and says where it is.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UnknownRunError } from "../../report/run-files.ts";
import { writeRunReport } from "../../report/render-report.ts";
import { parse, type Io } from "../args.ts";
import { loadCliConfig, openContext, UsageError } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { help, runArg } from "./watch.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";

export const REPORT_USAGE = `usage: sentiment-pipeline report RUN [--out FILE] [--json]

Renders the run's report, one self-contained HTML page (no network needed to view it), into the run folder
as runs/RUN/report.html, and prints where it is. --out also writes a copy to FILE. The report is rendered
on its own when a run completes; this renders it again (a running run gets a report of where it stands).
Sections: verdict and decision trail, data, tuning, training, evaluation, error analysis (most confident
mistakes, reliability diagram with ECE, precision-recall per class, class F1 per slice), slices, champion,
model card. A section the run never produced (a failed run's evaluation, say) is left out, not shown empty.`;

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { out: { type: "string" } }, REPORT_USAGE);
  if (values.help) return help(io, REPORT_USAGE);
  const runId = runArg(positionals, REPORT_USAGE);
  const ctx = openContext(loadCliConfig(values, io.env));
  let written;
  try {
    written = await writeRunReport({ store: ctx.store, ledger: ctx.ledger, config: ctx.config }, runId);
  } catch (err) {
    if (err instanceof UnknownRunError) throw new UsageError(err.message);
    throw err;
  }
  let copy: string | null = null;
  if (values.out) {
    copy = resolve(values.out);
    await mkdir(dirname(copy), { recursive: true });
    if (ctx.store instanceof LocalObjectStore) await copyFile(ctx.store.pathOf(written.uri), copy);
    else await writeFile(copy, await ctx.store.read(written.uri));
  }
  const where = ctx.display(written.uri);
  if (values.json) {
    io.out.write(
      `${JSON.stringify({ runId, report: where, uri: written.uri, copy, verdict: written.model.verdict, gaps: written.model.gaps })}\n`,
    );
  } else {
    io.out.write(`${written.model.verdict.title}\nreport: ${where}\n${copy ? `copy:   ${copy}\n` : ""}`);
    for (const gap of written.model.gaps) io.err.write(`note: ${gap}\n`);
  }
  return EXIT.ok;
}
