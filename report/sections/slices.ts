// Fairness across slices: F1 per slice value with its bootstrap interval against the bias line, and the rule.
import { sliceF1Chart } from "../charts.ts";
import { badge, esc, int, note, num, pct, section, table, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";

export async function slicesSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const e = model.evaluation;
  const s = e?.slices;
  // Left out when the run has no slice report; the footer names the file when it should have been there.
  if (!e || !s || e.biasLine === null) return "";
  const t = s.threshold;
  const lead = `A slice is judged when it holds at least ${pct(t.minSliceShare, 0)} of the test rows, and is <strong>biased</strong> when its F1 is below ${num(
    t.sliceF1Ratio,
    2,
  )} × the overall weighted F1 (${num(s.overallF1)}), the <span class="red">bias line at ${num(e.biasLine)}</span>${
    t.requireSignificance ? "; only slices whose whole interval lies below the line block the run" : ""
  }. Bars are ${pct(s.bootstrap.confidence, 0)} bootstrap intervals (${int(s.bootstrap.resamples)} resamples, seed ${s.bootstrap.seed}): a slice whose bar crosses the line may differ by chance alone.`;
  const summary =
    e.biased > 0
      ? note(`${e.biased} of ${e.judged} judged slices are biased.`, "bad")
      : note(`None of the ${e.judged} judged slices is biased.`, "good");
  const charts = await Promise.all(
    e.sliceSections.map(
      async (sec) =>
        `<h3>By ${esc(sec.column)}</h3>${await chart(
          `slice-f1-${sec.column}`,
          sliceF1Chart(sec.column, sec.points, s.overallF1, e.biasLine!, sec.chronological),
        )}`,
    ),
  );
  const judged = s.slices.filter((x) => x.share >= t.minSliceShare).sort((a, b) => a.ratio - b.ratio);
  const rows = table(
    judged,
    [
      { head: "slice", cell: (x) => `${esc(x.column)} = <strong>${esc(x.value)}</strong>` },
      { head: "rows", cell: (x) => int(x.support), numeric: true },
      { head: "share", cell: (x) => pct(x.share), numeric: true },
      { head: "F1", cell: (x) => num(x.f1), numeric: true },
      {
        head: "95% interval",
        cell: (x) => (x.f1Interval ? `${num(x.f1Interval.low)}–${num(x.f1Interval.high)}` : "–"),
        numeric: true,
      },
      { head: "ratio to overall", cell: (x) => num(x.ratio), numeric: true },
      {
        head: "verdict",
        cell: (x) =>
          x.biased ? badge(x.significant ? "biased, significant" : "biased", "bad") : badge("fair", "good"),
      },
    ],
    'class="compact" data-table="judged-slices"',
  );
  return section(
    "slices",
    "Fairness across slices",
    lead,
    `${summary}${charts.join("\n")}<details${e.biased > 0 ? " open" : ""}><summary>The ${judged.length} judged slices, worst first</summary>${rows}</details>`,
  );
}
