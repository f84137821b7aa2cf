// The data summary: what was read and kept, labels per split, slice values, and the rejected rows by reason.
import { classDistributionChart, rejectedChart, sliceDistributionChart } from "../charts.ts";
import { esc, int, note, pct, section, table, type ChartRenderer } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";

export async function dataSection(model: ReportModel, chart: ChartRenderer): Promise<string> {
  const d = model.data;
  const s = d.stats;
  // Without statistics the section is left out; a failed prepare still says why in the trail and the footer.
  if (!s) return "";
  const parts: string[] = [];
  parts.push(
    `<p class="lead">${int(s.rowsRead)} rows read from <code>${esc(s.input)}</code> (${esc(s.format)}, ${esc(
      s.schema,
    )} fields): <strong>${int(s.rowsKept)} kept</strong>, ${int(s.rowsRejected)} rejected (${pct(
      s.rowsRead > 0 ? s.rowsRejected / s.rowsRead : 0,
    )}). ${esc(s.splitMode)} split into ${int(s.splits.train.rows)} training, ${int(
      s.splits.validation.rows,
    )} validation and ${int(s.splits.test.rows)} test rows (seed ${s.seed}).${
      s.labelSource.column > 0
        ? ` Labels: ${int(s.labelSource.column)} from the file's label column, ${int(s.labelSource.rating)} from star ratings.`
        : " Labels come from star ratings."
    }</p>`,
  );

  parts.push(
    `<h3>Labels per split</h3>`,
    await chart(
      "class-distribution",
      classDistributionChart(d.splitCounts),
      "Rows of each label in each split.",
    ),
  );

  if (d.sliceCounts.length > 0) {
    const charts = await Promise.all(
      d.sliceCounts.map((c) =>
        chart(
          `slice-distribution-${c.column}`,
          sliceDistributionChart(c.column, c.counts, c.chronological),
          `Rows per ${c.column}${c.values > c.counts.length ? ` (the ${c.counts.length - 1} largest of ${c.values} values, the others pooled in one bar)` : ""}; grey values hold less than ${pct(d.minSliceShare, 0)} of the test split${d.minSliceRows !== null ? ` and fewer than ${d.minSliceRows} test rows` : ""}, too few to be judged for bias on their own.`,
        ),
      ),
    );
    parts.push(`<h3>Slices</h3><div class="grid-2">${charts.join("\n")}</div>`);
  }

  parts.push(`<h3>Rejected rows</h3>`);
  if (d.rejectedByReason.length === 0) {
    parts.push(note("No row was rejected.", "good"));
  } else {
    const sample = d.rejectedSample.length
      ? `<div>${table(
          d.rejectedSample,
          [
            { head: "line", cell: (r) => String(r.line), numeric: true },
            { head: "reason", cell: (r) => esc(r.reason) },
            { head: "field", cell: (r) => esc(r.field ?? "") },
            { head: "message", cell: (r) => esc(r.message) },
          ],
          'class="compact" data-table="rejected-sample"',
        )}${d.rejectedMore ? `<p class="muted small">First ${d.rejectedSample.length} rejected rows; all of them are in <code>rejected.jsonl</code>.</p>` : ""}</div>`
      : "";
    parts.push(
      `<div class="two-col">${await chart("rejected-reasons", rejectedChart(d.rejectedByReason), "Rejected rows by reason.")}${sample}</div>`,
    );
  }
  return section("data", "Data", "", parts.join("\n"));
}
