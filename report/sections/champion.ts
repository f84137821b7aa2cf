// Champion comparison: this run's model beside the registered champion, scored on the same test rows.
import { LABELS } from "../../schemas/names.ts";
import { championChart, type ComparisonBar } from "../charts.ts";
import { esc, note, num, section, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";

export async function championSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const c = model.champion;
  if (!model.evaluation) return "";
  if (!c) {
    const registered = model.verdict.outcome === "promoted";
    return section(
      "champion",
      "Champion comparison",
      "",
      note(
        `First of its line${model.modelLine ? ` ${model.modelLine}` : ""}: no model of this line was registered as champion when this run was evaluated, so there was nothing to beat${registered ? "; this model became the line's first champion" : ""}. Models of other lines (another base model or label scheme) are never compared with it.`,
      ),
    );
  }
  const models: [string, string] = ["this run", `champion v${c.version}`];
  const bars: ComparisonBar[] = [];
  const add = (metric: string, a: number, b: number) =>
    bars.push({ metric, model: models[0], value: a }, { metric, model: models[1], value: b });
  add("accuracy", c.challenger.accuracy, c.champion.accuracy);
  add("weighted F1", c.challenger.weightedF1, c.champion.weightedF1);
  add("macro F1", c.challenger.macroF1, c.champion.macroF1);
  for (const label of LABELS)
    add(`F1 ${label}`, c.challenger.perClass[label].f1, c.champion.perClass[label].f1);
  const better = c.delta >= -c.tolerance;
  const text = `${model.modelLine ? `Model line ${model.modelLine}: only this line's champion is compared. ` : ""}This run's weighted F1 is ${num(c.challenger.weightedF1)} against the champion's ${num(c.champion.weightedF1)} on the same ${c.challenger.support} test rows: ${c.delta >= 0 ? "+" : "−"}${num(Math.abs(c.delta))}${c.tolerance > 0 ? ` (tolerance ${num(c.tolerance)})` : ""}. ${better ? "It is at least as good, so the champion rule does not stand in its way." : "It is worse, so it cannot replace the champion."}`;
  return section(
    "champion",
    "Champion comparison",
    esc(text),
    await chart(
      "champion-comparison",
      championChart(bars, models),
      "Both models scored on the same test rows.",
    ),
  );
}
