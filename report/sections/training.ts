// Tuning history (every trial, the best so far) and the training curves of each training attempt.
import { trainingChart, tuningChart } from "../charts.ts";
import { esc, num, section, table, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";
import { countOf } from "../../schemas/text.ts";

const PARAM_NAMES: Record<string, string> = {
  modelFamily: "model family",
  learningRate: "learning rate",
  batchSize: "batch size",
  epochs: "epochs",
  weightDecay: "weight decay",
  dropout: "dropout",
};

export async function tuningSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const t = model.tuning;
  // Left out when no tuning attempt left results (a run that failed earlier, or whose files are missing).
  if (t.table.length === 0 && !t.best) return "";
  const parts: string[] = [];
  if (t.best) {
    // The model trained, then its family only where the family is not already its name.
    const named = Object.entries(t.best.params).filter(
      ([k, v]) => k !== "modelFamily" || v !== t.best!.model,
    );
    const params = [["model", t.best.model], ...named]
      .map(([k, v]) => `<div><dt>${esc(PARAM_NAMES[k!] ?? k)}</dt><dd>${esc(v)}</dd></div>`)
      .join("");
    parts.push(
      `<p class="lead">${countOf(t.table.length, "trial")} (${t.table.filter((r) => r.state === "PRUNED").length} pruned early). The best${t.best.number !== null ? `, trial ${t.best.number},` : ""} reached a validation weighted F1 of <strong>${num(t.best.value)}</strong> with:</p><dl class="params" data-table="best-params">${params}</dl>`,
    );
  }
  if (t.trials.some((p) => p.value !== null))
    parts.push(
      await chart(
        "tuning-history",
        tuningChart(t.trials),
        `Validation weighted F1 of each trial (the objective; the test split is never used for tuning)${t.trials.filter((p) => p.value !== null).length > 1 ? "; the dashed line is the best so far" : ""}.`,
      ),
    );
  if (t.table.length > 0)
    parts.push(
      `<details><summary>${t.table.length === 1 ? "The trial" : `All ${t.table.length} trials`}</summary>${table(
        t.table,
        [
          { head: "trial", cell: (r) => String(r.number), numeric: true },
          { head: "round", cell: (r) => esc(r.round) },
          { head: "state", cell: (r) => esc(r.state.toLowerCase()) },
          { head: "weighted F1", cell: (r) => num(r.value), numeric: true },
          { head: "model", cell: (r) => esc(r.model) },
          {
            head: "learning rate",
            cell: (r) => (r.learningRate === null ? "–" : r.learningRate.toExponential(2)),
            numeric: true,
          },
          { head: "batch", cell: (r) => (r.batchSize === null ? "–" : String(r.batchSize)), numeric: true },
          { head: "epochs run", cell: (r) => `${r.epochsRun ?? "–"} / ${r.epochs ?? "–"}`, numeric: true },
          {
            head: "weight decay",
            cell: (r) => (r.weightDecay === null ? "–" : r.weightDecay.toExponential(2)),
            numeric: true,
          },
          { head: "dropout", cell: (r) => num(r.dropout, 2), numeric: true },
          { head: "seconds", cell: (r) => num(r.seconds, 0), numeric: true },
        ],
        'class="compact" data-table="trials"',
      )}</details>`,
    );
  return section("tuning", "Tuning", "", parts.join("\n"));
}

export async function trainingSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const t = model.training;
  if (
    t.attempts.length === 0 ||
    (t.points.length === 0 && t.attempts.every((a) => !a.bestEpoch && !a.mitigation))
  )
    return "";
  const parts: string[] = [];
  const lines = t.attempts.map(
    (a) =>
      `<li>Attempt ${a.attempt}${a.bestEpoch ? `: best epoch ${a.bestEpoch}` : ""}${a.mitigation ? `; bias mitigation re-weighted ${esc(a.mitigation)}` : ""}.</li>`,
  );
  parts.push(`<ul class="plain">${lines.join("")}</ul>`);
  if (t.points.length > 0)
    parts.push(
      await chart(
        "training-curves",
        trainingChart(t.points),
        "Validation weighted F1 and training loss after each epoch; the exported model is the best epoch's.",
      ),
    );
  return section("training", "Training", "", parts.join("\n"));
}
