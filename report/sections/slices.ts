// Fairness across slices: F1 per slice with its bootstrap interval against the bias line, what could not be judged
// and why, and every slice before and after mitigation with the champion's F1 beside it.
import { largestFirst, MAX_CHARTED_VALUES, sliceF1Chart } from "../charts.ts";
import { badge, esc, int, note, num, pct, section, table, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";
import type { SliceRow } from "../slice-rows.ts";

export async function slicesSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const e = model.evaluation;
  const s = e?.slices;
  // Left out when the run has no slice report; the footer names the file when it should have been there.
  if (!e || !s || e.biasLine === null) return "";
  const t = s.threshold;
  const size = `at least ${pct(t.minSliceShare, 0)} of the test rows${t.minSliceRows != null ? ` or at least ${int(t.minSliceRows)} row${t.minSliceRows === 1 ? "" : "s"}` : ""}`;
  const extras = [
    t.groupRareSlices
      ? "the values of a column too small to judge are pooled into one <em>other</em> slice"
      : "",
    t.crossSlices ? "pairs of columns are crossed (cells large enough to judge are shown)" : "",
  ].filter(Boolean);
  const lead = `A slice is judged when it holds ${size}, and is <strong>biased</strong> when its F1 is below ${num(
    t.sliceF1Ratio,
    2,
  )} × the overall weighted F1 (${num(s.overallF1)}), the <span class="red">bias line at ${num(e.biasLine)}</span>${
    t.requireSignificance ? "; only slices whose whole interval lies below the line block the run" : ""
  }.${extras.length ? ` ${capitalise(extras.join("; "))}.` : ""} Bars are ${pct(s.bootstrap.confidence, 0)} bootstrap intervals (${int(s.bootstrap.resamples)} resamples, seed ${s.bootstrap.seed}): a slice whose bar crosses the line may differ by chance alone.`;
  const summary = summaryNote(e);
  const charts = await Promise.all(
    e.sliceSections.map(async (sec) => {
      // Judged slices always; then the largest, so that a column of a thousand values stays a chart.
      const { shown, left } = largestFirst(
        sec.points,
        (p) => p.verdict !== "not judged",
        (p) => p.support,
        MAX_CHARTED_VALUES,
      );
      return `<h3>By ${esc(sec.column)}</h3>${await chart(
        `slice-f1-${sec.column.replace(/[^a-z0-9_]+/gi, "-")}`,
        sliceF1Chart(sec.column, shown, s.overallF1, e.biasLine!, sec.chronological),
        left.length > 0
          ? `The judged values and the largest, ${shown.length} of ${sec.points.length}; the ${left.length} others are in the table below.`
          : undefined,
      )}`;
    }),
  );
  const { attempts, rows } = e.table;
  const champion = s.champion ?? null;
  const crosses = (s.crosses ?? [])
    .map(
      (c) =>
        `${esc(c.columns.join(" × "))}: ${int(c.cells)} cells on the test split, ${c.judged === 0 ? "none" : int(c.judged)} large enough to judge${c.judged ? " (shown)" : ""}.`,
    )
    .join(" ");
  const every = table(
    rows,
    [
      { head: "slice", cell: (x) => sliceName(x) },
      { head: "rows", cell: (x) => int(x.support), numeric: true },
      { head: "share", cell: (x) => pct(x.share), numeric: true },
      ...attempts.map((a, i) => ({
        head: `F1 ${a.label}`,
        cell: (x: SliceRow) => num(x.f1[i]),
        numeric: true,
      })),
      ...(champion
        ? [
            {
              head: `champion v${champion.modelVersion}`,
              cell: (x: SliceRow) => num(x.championF1),
              numeric: true,
            },
          ]
        : []),
      {
        head: "95% interval",
        cell: (x) => (x.f1Interval ? `${num(x.f1Interval.low)}–${num(x.f1Interval.high)}` : "–"),
        numeric: true,
      },
      { head: "ratio to overall", cell: (x) => num(x.ratio), numeric: true },
      { head: "verdict", cell: (x) => verdictBadge(x) },
    ],
    'class="compact" data-table="every-slice"',
  );
  const open = e.biased > 0 || attempts.length > 1 || e.unjudged !== null;
  return section(
    "slices",
    "Fairness across slices",
    lead,
    `${summary}${charts.join("\n")}<details${open ? " open" : ""}><summary>Every slice (${rows.length}: ${e.judged} judged)${
      attempts.length > 1 ? ", at each evaluation" : ""
    }${champion ? `, with champion v${esc(champion.modelVersion)}'s F1 on the same rows` : ""}</summary>${every}${
      crosses ? `<p class="muted">${crosses}</p>` : ""
    }</details>`,
  );
}

function summaryNote(e: NonNullable<ReportModel["evaluation"]>): string {
  if (e.biased > 0) {
    const also = e.unjudged ? ` Also, ${esc(e.unjudged)}: ${esc(e.unjudgedReason)}.` : "";
    return note(`${e.biased} of ${e.judged} judged slices are biased.${also}`, "bad");
  }
  if (e.judged === 0)
    return `<div data-bias-coverage="none">${note(`No slice could be judged: ${esc(e.unjudgedReason)}. The bias check says nothing about this model.`, "warn")}</div>`;
  if (e.unjudged)
    return `<div data-bias-coverage="partial">${note(
      `None of the ${e.judged} judged slices is biased, but ${esc(e.unjudged)}: ${esc(e.unjudgedReason)}.`,
      "warn",
    )}</div>`;
  return `<div data-bias-coverage="full">${note(`None of the ${e.judged} judged slices is biased.`, "good")}</div>`;
}

function sliceName(x: SliceRow): string {
  const name = `${esc(x.column)} = <strong>${esc(x.value)}</strong>`;
  return x.kind === "other"
    ? `${name} <span class="muted">(values too small to judge alone, pooled)</span>`
    : name;
}

function verdictBadge(x: SliceRow): string {
  if (x.biased) return badge(x.significant ? "biased, significant" : "biased", "bad");
  return x.judged ? badge("fair", "good") : badge("not judged", "neutral");
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
