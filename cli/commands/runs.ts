// `sentiment-pipeline runs`: the recent runs, newest first, with outcome, test F1 and time taken.
import type { RunState } from "../../schemas/run-state.ts";
import { parse, positiveNumber, type Io } from "../args.ts";
import { loadCliConfig, openContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { painter, formatElapsed } from "../follow/render-view.ts";
import { runDurations } from "../../functions/core/run-durations.ts";
import { help } from "./watch.ts";

export const RUNS_USAGE = `usage: sentiment-pipeline runs [--limit N] [--json]

Lists the most recent runs (20 by default), newest first: when each started, its outcome (or the step it is
at), its test weighted F1 and how long it took.`;

export interface RunRow {
  runId: string;
  createdAt: string;
  status: RunState["status"];
  outcome: RunState["outcome"];
  currentStep: RunState["currentStep"];
  testWeightedF1: number | null;
  took: string | null;
  /** Time the run sat completed before a retrigger, not counted in `took`; null when none. */
  idle: string | null;
  input: string;
}

export async function runsCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { limit: { type: "string" } }, RUNS_USAGE);
  if (values.help) return help(io, RUNS_USAGE);
  const ctx = openContext(loadCliConfig(values, io.env));
  const limit = positiveNumber(values.limit, "--limit") ?? 20;
  const ids = await ctx.ledger.list(Math.floor(limit));
  const rows: RunRow[] = [];
  for (const id of ids) {
    const state = (await ctx.ledger.get(id))?.state;
    if (state) rows.push(rowOf(state));
  }
  if (values.json) {
    io.out.write(`${JSON.stringify(rows)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    io.out.write(`no runs yet in gs://${ctx.store.bucket}/runs/ (${ctx.config.runtime.mode} mode)\n`);
    return EXIT.ok;
  }
  io.out.write(`${formatRuns(rows, io.out.color).join("\n")}\n`);
  return EXIT.ok;
}

export function rowOf(state: RunState): RunRow {
  return {
    runId: state.runId,
    createdAt: state.createdAt,
    status: state.status,
    outcome: state.outcome,
    currentStep: state.currentStep,
    testWeightedF1: state.artifacts.evaluation?.overall.weightedF1 ?? null,
    // Working time: the hours between the run's end and a retrigger are idle, shown apart.
    took: state.status === "completed" ? formatElapsed(runDurations(state, new Date()).workingMs) : null,
    idle:
      state.status === "completed" && runDurations(state, new Date()).idleMs > 0
        ? formatElapsed(runDurations(state, new Date()).idleMs)
        : null,
    input: state.artifacts.input,
  };
}

export function formatRuns(rows: RunRow[], color: boolean): string[] {
  const paint = painter(color);
  const table = rows.map((r) => ({
    run: r.runId,
    started: `${r.createdAt.slice(0, 16).replace("T", " ")}Z`,
    outcome: r.status === "completed" ? (r.outcome ?? "") : `running (${r.currentStep ?? "starting"})`,
    f1: r.testWeightedF1 === null ? "–" : r.testWeightedF1.toFixed(3),
    took: r.took ? `${r.took}${r.idle ? ` +${r.idle} idle` : ""}` : "",
  }));
  const head = { run: "RUN", started: "STARTED", outcome: "OUTCOME", f1: "TEST F1", took: "TOOK" };
  const w = (k: keyof typeof head) => Math.max(head[k].length, ...table.map((t) => t[k].length));
  const line = (t: typeof head, paintOutcome: (s: string) => string) =>
    `${t.run.padEnd(w("run"))}  ${t.started.padEnd(w("started"))}  ${paintOutcome(t.outcome.padEnd(w("outcome")))}  ${t.f1.padStart(w("f1"))}  ${t.took.padStart(w("took"))}`.trimEnd();
  return [
    paint(
      "dim",
      line(head, (s) => s),
    ),
    ...table.map((t, i) =>
      line(t, (s) => {
        const r = rows[i]!;
        if (r.status !== "completed") return paint("cyan", s);
        return paint(r.outcome === "promoted" ? "green" : r.outcome === "failed" ? "red" : "yellow", s);
      }),
    ),
  ];
}
