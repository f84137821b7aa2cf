// The run report rendered from fixture run folders: verdict, trail, every section's numbers, one self-contained page.
import { describe, expect, it, beforeAll } from "vitest";
import {
  chartFigure,
  renderReportHtml,
  renderRunReport,
  writeRunReport,
} from "../../report/render-report.ts";
import { buildReportModel, formatDuration } from "../../report/report-model.ts";
import { loadRunFiles, parseCsv } from "../../report/run-files.ts";
import { reportUri } from "../../report/report-location.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { SliceReport } from "../../schemas/metrics.ts";
import { esc } from "../../report/html-kit.ts";
import { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";
import { fixtureRun, HOSTILE_REVIEW, TRICKY_CATEGORY, type FixtureRun } from "./support/fixture-run.ts";
import { LABELS, runDir } from "../../schemas/names.ts";
import { sliceDistributionChart, tuningChart } from "../../report/charts.ts";
import { sliceClassF1Chart } from "../../report/charts-errors.ts";
import { ChartError, renderSvg } from "../../report/render-svg.ts";
import type { TopLevelSpec } from "vega-lite";

let blocked: FixtureRun;
let promoted: FixtureRun;
let failed: FixtureRun;
let blockedHtml: string;
let promotedHtml: string;
let failedHtml: string;

beforeAll(async () => {
  blocked = await fixtureRun("blocked_bias");
  promoted = await fixtureRun("promoted");
  failed = await fixtureRun("failed");
  failedHtml = (
    await renderRunReport({ store: failed.store, ledger: failed.ledger, config: failed.config }, failed.runId)
  ).html;
  blockedHtml = (
    await renderRunReport(
      { store: blocked.store, ledger: blocked.ledger, config: blocked.config },
      blocked.runId,
    )
  ).html;
  promotedHtml = (
    await renderRunReport(
      { store: promoted.store, ledger: promoted.ledger, config: promoted.config },
      promoted.runId,
    )
  ).html;
}, 60_000);

/** Each section's id and its text after the heading, tags stripped. */
function sectionTexts(html: string): { id: string; body: string }[] {
  return [...html.matchAll(/<section id="([^"]+)"[^>]*>([\s\S]*?)<\/section>/g)].map((m) => ({
    id: m[1]!,
    body: m[2]!
      .replace(/<h2>[\s\S]*?<\/h2>/, "")
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  }));
}

/** A section is empty when it says only that it has nothing to show. */
function emptySections(html: string): string[] {
  return sectionTexts(html)
    .filter(
      (s) =>
        s.body.length < 40 || /not available|has no \w+ results|no \w+ report is available/i.test(s.body),
    )
    .map((s) => s.id);
}

/** The axis labels of a named chart's SVG, one list per axis. */
function axisLabels(html: string, chart: string): string[][] {
  const at = html.indexOf(`data-chart="${chart}"`);
  const figure = html.slice(at, html.indexOf("</figure>", at));
  return [...figure.matchAll(/role-axis-label[\s\S]*?<\/g>/g)].map((g) =>
    [...g[0].matchAll(/>([^<]+)<\/text>/g)].map((t) => t[1]!),
  );
}

/** The text of the element carrying a data attribute (nested elements of the same tag included), tags stripped. */
function textOf(html: string, attr: string): string {
  const at = html.indexOf(attr);
  expect(at, `${attr} is in the page`).toBeGreaterThan(-1);
  const open = html.lastIndexOf("<", at);
  const tag = /^<(\w+)/.exec(html.slice(open))![1]!;
  const re = new RegExp(`<${tag}\\b|</${tag}>`, "g");
  re.lastIndex = open;
  let depth = 0;
  let end = html.length;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    depth += m[0].startsWith("</") ? -1 : 1;
    if (depth === 0) {
      end = m.index;
      break;
    }
  }
  return html
    .slice(open, end)
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
}

describe("run report", () => {
  it("opens with the verdict and the reason the run ended, in the pipeline's own words", () => {
    expect(blocked.state.outcome).toBe("blocked_bias");
    const verdict = textOf(blockedHtml, 'data-verdict="blocked_bias"');
    expect(verdict).toContain("Not promoted: biased slices");
    expect(verdict).toContain("main_category=Grocery");
    expect(verdict).toContain("the mitigation budget (1) is spent");
    const promotedVerdict = textOf(promotedHtml, 'data-verdict="promoted"');
    expect(promotedVerdict).toContain("Promoted: registered as version 2 (champion)");
    expect(promotedVerdict).toContain("weighted F1 0.873 >= 0.600");
  });

  it("shows every decision of the trail, the retrigger and the outcome included", () => {
    const trail = textOf(blockedHtml, 'data-table="trail"');
    for (const t of blocked.state.trail) expect(trail).toContain(t.decision.slice(0, 60));
    expect(trail).toContain("mitigated re-training 1 of 1");
    expect(blocked.state.trail.length).toBeGreaterThanOrEqual(7);
  });

  it("names the run's model line, and compares with that line's champion", async () => {
    const state = (await promoted.ledger.get(promoted.runId))!.state;
    expect(state.modelLine).toMatch(/^[a-z][a-z0-9-]*-3class$/);
    expect(promotedHtml).toContain(`<b>model line</b> <code>${state.modelLine}</code>`);
    expect(promotedHtml).toContain(`vs ${state.modelLine} champion v`);
    expect(promotedHtml).toContain(
      `Model line ${state.modelLine}: only this line&#39;s champion is compared.`,
    );
  });

  it("puts the headline numbers in tiles: test F1 against the gate, biased slices, champion delta", () => {
    const weighted = blocked.metrics.metrics.weightedF1.toFixed(3);
    const figures = textOf(blockedHtml, 'data-figures="headline"');
    expect(figures).toContain(weighted);
    expect(figures).toContain("passes the gate of 0.60");
    expect(figures).toMatch(/Biased slices 1 main_category=Grocery/);
    const champion = promoted.metrics.champion!.metrics.weightedF1;
    const delta = promoted.metrics.metrics.weightedF1 - champion;
    expect(textOf(promotedHtml, 'data-figures="headline"')).toContain(`+${delta.toFixed(3)}`);
  });

  it("renders each chart as inline SVG with a name", () => {
    const charts = [...blockedHtml.matchAll(/data-chart="([^"]+)"><svg/g)].map((m) => m[1]);
    expect(charts).toEqual([
      "class-distribution",
      "slice-distribution-year",
      "slice-distribution-main_category",
      "rejected-reasons",
      "tuning-history",
      "training-curves",
      "confusion-matrix",
      "reliability",
      "precision-recall",
      "slice-class-f1",
      "slice-f1-year",
      "slice-f1-main_category",
    ]);
    expect(promotedHtml).toContain('data-chart="champion-comparison"><svg');
  });

  it("writes the classification report with the evaluation's per-class numbers", () => {
    const table = textOf(blockedHtml, 'data-table="classification-report"');
    for (const [label, c] of Object.entries(blocked.metrics.metrics.perClass)) {
      expect(table).toContain(`${label} ${c.precision.toFixed(3)} ${c.recall.toFixed(3)} ${c.f1.toFixed(3)}`);
    }
    expect(table).toContain(`weighted avg`);
  });

  it("lists every slice with its interval and verdict, the one too small to judge marked as such", () => {
    const table = textOf(blockedHtml, 'data-table="every-slice"');
    const judged = blocked.slices.slices.filter((s) => s.share >= 0.1).sort((a, b) => a.ratio - b.ratio);
    expect(table).toContain(
      `${judged[0]!.f1Interval!.low.toFixed(3)}–${judged[0]!.f1Interval!.high.toFixed(3)}`,
    );
    expect(table).toContain("biased");
    // unknown holds 2.5% of the test rows: listed, not judged.
    expect(table).toMatch(/main_category = unknown.*not judged/);
    expect(blockedHtml).toContain(`bias line at ${(0.9 * blocked.slices.overallF1).toFixed(3)}`);
  });

  it("shows every slice before and after mitigation, one F1 column per evaluation", () => {
    const html = blockedHtml.slice(blockedHtml.indexOf('data-table="every-slice"'));
    const head = html.slice(0, html.indexOf("</thead>"));
    expect(head).toContain("F1 before mitigation (a1)");
    expect(head).toContain("F1 after mitigation (a2)");
    const grocery = blocked.slices.slices.find((s) => s.value === "Grocery")!;
    const at = html.indexOf("Grocery");
    const row = html.slice(html.lastIndexOf("<tr", at), html.indexOf("</tr>", at));
    // The fixture's Grocery scores the same before and after: both columns carry its F1.
    expect(row.split(grocery.f1.toFixed(3)).length - 1).toBeGreaterThanOrEqual(2);
  });

  it("says when an evaluation re-scored the model an earlier one scored (a retrigger from evaluate)", async () => {
    const run = await fixtureRun("blocked_bias");
    const dir = runDir(run.store.bucket, run.runId);
    const a1 = JSON.parse((await run.store.read(`${dir}/evaluate/a1/metrics.json`)).toString()) as {
      modelUri: string;
    };
    const a2 = JSON.parse((await run.store.read(`${dir}/evaluate/a2/metrics.json`)).toString()) as {
      modelUri: string;
    };
    await run.store.write(
      `${dir}/evaluate/a2/metrics.json`,
      JSON.stringify({ ...a2, modelUri: a1.modelUri }),
    );
    const { model } = await renderRunReport(
      { store: run.store, ledger: run.ledger, config: run.config },
      run.runId,
    );
    expect(model.evaluation!.table.attempts.map((a) => a.label)).toEqual(["a1", "a2 (same model as a1)"]);
  });

  it("leaves a pooled slice's earlier F1 out when it pooled other values then", async () => {
    const run = await fixtureRun("blocked_bias");
    const dir = runDir(run.store.bucket, run.runId);
    const other = (years: string[], f1: number) => ({
      ...run.slices.slices.find((x) => x.column === "year")!,
      value: "other",
      kind: "other",
      where: [{ column: "year", values: years }],
      f1,
    });
    const pool = async (a: number, years: string[], f1: number) => {
      const uri = `${dir}/evaluate/a${a}/slices.json`;
      const report = JSON.parse((await run.store.read(uri)).toString()) as { slices: unknown[] };
      await run.store.write(uri, JSON.stringify({ ...report, slices: [...report.slices, other(years, f1)] }));
    };
    const otherRow = async () => {
      const { model } = await renderRunReport(
        { store: run.store, ledger: run.ledger, config: run.config },
        run.runId,
      );
      return model.evaluation!.table.rows.find((r) => r.column === "year" && r.value === "other")!.f1;
    };
    // The row-count rule judged 2019 alone at a2: a1's "other" held 2019 and 2020, other rows.
    await pool(1, ["2019", "2020"], 0.5);
    await pool(2, ["2020"], 0.7);
    expect(await otherRow()).toEqual([null, 0.7]);
    await pool(1, ["2020"], 0.6);
    expect(await otherRow()).toEqual([0.6, 0.7]);
  });

  it("compares attempts: both evaluations with what the pipeline did after each", () => {
    const table = textOf(blockedHtml, 'data-table="evaluations"');
    expect(table).toContain("mitigated re-training 1 of 1");
    expect(table).toContain("blocked_bias:");
  });

  it("shows rejected rows by reason and a sample, without the raw review text", () => {
    expect(textOf(blockedHtml, 'data-table="rejected-sample"')).toContain("rating 7 is outside 1-5");
    expect(blockedHtml).not.toContain('{"rating":5}');
  });

  it("writes a model card whose limitations follow from the run's numbers", () => {
    const limits = textOf(blockedHtml, 'data-table="limitations"');
    expect(limits).toContain("NEUTRAL is only 13%");
    expect(limits).toContain("Biased slices: main_category=Grocery");
    expect(limits).toContain("1 slice was too small to be judged for bias (under 10% of the test rows)");
    expect(blockedHtml).toContain("Intended use");
  });

  it("is one self-contained page: no script, no stylesheet or image fetched from anywhere", () => {
    for (const html of [blockedHtml, promotedHtml]) {
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/<link\b/i);
      // In a tag: review text quoting markup is escaped, so it never opens one.
      expect(html).not.toMatch(/<[a-z][^>]*\ssrc=/i);
      expect(html).not.toMatch(/href="(?!#)/i);
      expect(html).not.toMatch(/url\((?!#)|@import/i);
    }
  });

  it("escapes text that comes from the data", () => {
    expect(blockedHtml).not.toContain(TRICKY_CATEGORY);
    expect(blockedHtml).toContain("Tools &amp; &lt;Home&gt;");
  });

  it("renders a run whose jobs left no files, and says which files are missing", async () => {
    const bare = await fixtureRun("blocked_bias");
    for (const uri of await bare.store.list(`gs://${bare.store.bucket}/runs/${bare.runId}/`))
      if (!uri.endsWith("state.json") && !uri.endsWith("events.jsonl")) await bare.store.delete(uri);
    const { html, model } = await renderRunReport(
      { store: bare.store, ledger: bare.ledger, config: bare.config },
      bare.runId,
    );
    expect(model.gaps.some((g) => g.includes("stats.json is missing"))).toBe(true);
    expect(html).toContain("Not promoted: biased slices");
    expect(html).toContain("Missing or unreadable files");
    expect(html).not.toContain("<svg");
  });

  it("is written into the run folder as report.html", async () => {
    const { uri } = await writeRunReport(
      { store: promoted.store, ledger: promoted.ledger, config: promoted.config },
      promoted.runId,
    );
    expect(uri).toBe(reportUri(promoted.store.bucket, promoted.runId));
    expect((await promoted.store.read(uri)).toString()).toContain("<!doctype html>");
  });

  it("refuses an unknown run", async () => {
    const ledger = new LocalRunLedger(blocked.root + "/bucket");
    await expect(
      renderRunReport({ store: blocked.store, ledger, config: blocked.config }, "no-such-run-0000"),
    ).rejects.toThrow(/no run no-such-run-0000/);
  });
});

describe("error analysis in the report", () => {
  it("lists the most confident mistakes of each class, the review text escaped and cut short", () => {
    const negatives = textOf(blockedHtml, 'data-table="mistakes-NEGATIVE"');
    const first = blocked.analysis.mistakes.find((m) => m.label === "NEGATIVE")!;
    expect(
      first.text.startsWith("<img src=x onerror=\"alert('pwned')\"> Broke after a day. Returned it."),
    ).toBe(true);
    expect(negatives.indexOf("Do <b>not</b> buy")).toBeGreaterThan(-1);
    expect(negatives).toContain("97.0%");
    expect(negatives).toContain("…");
    expect(HOSTILE_REVIEW).toContain("THE END");
    expect(negatives).not.toContain("THE END");
    // The markup is shown, never parsed: no tag of the review reaches the page.
    expect(blockedHtml).not.toContain("<img");
    expect(blockedHtml).not.toContain("<b>not</b>");
    expect(blockedHtml).toContain("&lt;img src=x onerror=&quot;alert(&#39;pwned&#39;)&quot;&gt;");
    for (const label of LABELS) {
      const rows = blocked.analysis.mistakes.filter((m) => m.label === label);
      expect(rows.length, label).toBe(
        Math.min(
          5,
          blocked.metrics.metrics.perClass[label].support -
            blocked.metrics.metrics.confusion[LABELS.indexOf(label)]![LABELS.indexOf(label)]!,
        ),
      );
      expect(
        blockedHtml.match(new RegExp(`data-table="mistakes-${label}"[\\s\\S]*?</table>`))![0].match(/<tr>/g),
      ).toHaveLength(rows.length + 1);
    }
  });

  it("shows the calibration error and each class's average precision from analysis.json", () => {
    const tiles = textOf(blockedHtml, 'data-figures="error-analysis"');
    expect(tiles).toContain(`Expected calibration error ${blocked.analysis.calibration.ece.toFixed(3)}`);
    for (const pr of blocked.analysis.precisionRecall)
      expect(tiles).toContain(`Average precision ${pr.label} ${pr.averagePrecision!.toFixed(3)}`);
  });

  it("draws a heatmap cell of per-class F1 for every slice value and class", () => {
    const at = blockedHtml.indexOf('data-chart="slice-class-f1"');
    const figure = blockedHtml.slice(at, blockedHtml.indexOf("</figure>", at));
    const grocery = blocked.slices.slices.find((s) => s.value === "Grocery")!;
    expect(figure).toContain(grocery.metrics.perClass.NEUTRAL.f1.toFixed(2));
    expect([...figure.matchAll(/<path aria-label="label: [A-Z]+; slice: /g)]).toHaveLength(
      3 * blocked.slices.slices.length,
    );
  });
});

describe("report fixes", () => {
  it("labels the epoch axis with whole epochs only, each once", () => {
    const [epochs] = axisLabels(blockedHtml, "training-curves");
    expect(epochs).toEqual(["1", "2", "3"]);
  });

  it("leaves out what a failed run never produced: no evaluation, analysis, slices, champion or model card", () => {
    expect(failed.state.outcome).toBe("failed");
    const ids = sectionTexts(failedHtml).map((s) => s.id);
    expect(ids).toEqual(["decisions", "data", "tuning"]);
    expect(failedHtml).not.toContain('href="#model-card"');
    expect(failedHtml).not.toContain("Intended use");
    expect(emptySections(failedHtml)).toEqual([]);
  });

  it("has no empty section in a blocked or a promoted run, and every one of them in the table of contents", () => {
    for (const html of [blockedHtml, promotedHtml]) {
      expect(emptySections(html)).toEqual([]);
      const ids = sectionTexts(html).map((s) => s.id);
      expect(ids).toEqual(
        expect.arrayContaining(["evaluation", "errors", "slices", "champion", "model-card"]),
      );
      for (const id of ids) expect(html).toContain(`href="#${id}"`);
    }
  });

  it("lists in the model card only the side features the data holds", () => {
    const card = textOf(blockedHtml, 'data-section="model-card"');
    expect(card).toContain("plus 2 side features (price, price_missing)");
    expect(card).toContain("the data has no helpful_vote or verified_purchase");
    expect(card).not.toMatch(/side features \([^)]*helpful_vote/);
  });
});

describe("report model", () => {
  it("builds the tuning history with the best score so far and pruned trials kept", async () => {
    const files = await loadRunFiles(blocked.store, blocked.ledger, blocked.runId);
    const model = buildReportModel(files, blocked.config, new Date("2026-03-02T00:00:00Z"));
    expect(model.tuning.trials.map((t) => [t.number, t.state, t.bestSoFar])).toEqual([
      [1, "COMPLETE", 0.81],
      [2, "PRUNED", 0.81],
      [3, "COMPLETE", 0.86],
    ]);
    expect(model.tuning.best?.number).toBe(3);
    expect(model.training.points.filter((p) => p.attempt === "a2 (mitigated)")).toHaveLength(3);
    expect(model.evaluation?.attempt).toBe(2);
  });

  it("names the model the trials trained, beside its family, where tuning.json maps families to models", async () => {
    const run = await fixtureRun("promoted");
    const uri = `${runDir(run.store.bucket, run.runId)}/tune/a1/tuning.json`;
    const older = buildReportModel(
      await loadRunFiles(run.store, run.ledger, run.runId),
      run.config,
      new Date(),
    );
    const family = older.tuning.best!.params.modelFamily!;
    // A run from before the mapping: the family is all it can say, once.
    expect(older.tuning.best?.model).toBe(family);
    const summary = JSON.parse((await run.store.read(uri)).toString()) as Record<string, unknown>;
    await run.store.write(
      uri,
      JSON.stringify({ ...summary, baseModel: "minilm", models: { bert: "minilm", roberta: "minilm" } }),
    );
    const html = (
      await renderRunReport({ store: run.store, ledger: run.ledger, config: run.config }, run.runId)
    ).html;
    const best = html.match(/<dl class="params" data-table="best-params">(.*?)<\/dl>/s)?.[1] ?? "";
    expect(best).toMatch(
      /^<div><dt>model<\/dt><dd>minilm<\/dd><\/div><div><dt>model family<\/dt><dd>(bert|roberta)<\/dd>/,
    );
    expect(html).not.toMatch(/<th[^>]*>family<\/th>/);
    expect(html).toMatch(/<td[^>]*>minilm<\/td>/);
  });

  it("says how long the run worked, and the idle hours before a retrigger apart", async () => {
    const run = await fixtureRun("promoted");
    const current = (await run.ledger.get(run.runId))!;
    const state = current.state;
    const ended = Date.parse(state.updatedAt);
    const at = (ms: number) => new Date(ms).toISOString();
    const entry = (ms: number, step: "evaluate" | null, attempt: number, decision: string) => ({
      at: at(ms),
      eventId: `e-${ms}`,
      eventType: step ? "retrigger.requested" : "run.completed",
      step,
      attempt,
      decision,
    });
    // Completed, idle for 5 hours, retriggered from evaluate, worked 2 more minutes, completed again.
    const retriggered = {
      ...state,
      updatedAt: at(ended + 5 * 3600_000 + 120_000),
      trail: [
        ...state.trail,
        entry(ended + 5 * 3600_000, "evaluate", 2, "manual retrigger from evaluate"),
        entry(ended + 5 * 3600_000 + 120_000, null, 0, "promoted: again"),
      ],
    };
    expect(await run.ledger.compareAndSwap(retriggered, current.generation)).toBe(true);
    const model = buildReportModel(
      await loadRunFiles(run.store, run.ledger, run.runId),
      run.config,
      new Date(),
    );
    const worked = (ended - Date.parse(state.createdAt)) / 1000 + 120;
    expect(model.idle).toBe("5 h 0 min");
    expect(model.duration).toBe(formatDuration(worked));
    const html = await renderReportHtml(model);
    expect(html).toContain(
      `<b>took</b> ${formatDuration(worked)} of work (+ 5 h 0 min idle before a retrigger)`,
    );
    // A run never retriggered after completing shows no idle time.
    const plain = buildReportModel(
      await loadRunFiles(blocked.store, blocked.ledger, blocked.runId),
      blocked.config,
      new Date(),
    );
    expect(plain.idle).toBeNull();
  });

  it("draws slice values named like object methods, and a thousand values, where Vega failed on both", async () => {
    const methods = ["constructor", "toString", "__proto__", "valueOf"];
    const counts = methods.map((value, i) => ({ value, rows: 10 - i, testShare: 0.1, judged: false }));
    const svg = await renderSvg(sliceDistributionChart("main_category", counts, false));
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(4);
    for (const m of methods) expect(svg).toContain(`>${m}</text>`);
    const many = Array.from({ length: 1_200 }, (_, i) => `category ${i}`);
    const tall = await renderSvg(
      sliceDistributionChart(
        "main_category",
        many.map((value, i) => ({ value, rows: i + 1, testShare: 0.001, judged: false })),
        false,
      ),
    );
    expect(tall.match(/aria-roledescription="bar"/g)).toHaveLength(1_200);
    const heat = await renderSvg(
      sliceClassF1Chart(
        many.map((v) => ({ slice: `main_category = ${v}`, label: "NEUTRAL", f1: 0.5, support: 2 })),
      ),
    );
    expect(heat).toContain(">main_category = category 1199</text>");
  });

  it("charts the 59 largest of a thousand slice values and pools the rest, reading only counts the stats hold", async () => {
    const run = await fixtureRun("promoted");
    const uri = `${runDir(run.store.bucket, run.runId)}/prepare/a1/stats.json`;
    const stats = JSON.parse((await run.store.read(uri)).toString()) as {
      splits: Record<string, { bySlice: Record<string, Record<string, number>> }>;
    };
    const many = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`category ${i}`, i + 1]));
    // "toString" only in the test split: the train split's lookup must not find Object.prototype.toString.
    stats.splits.train!.bySlice.main_category = many;
    stats.splits.test!.bySlice.main_category = { ...many, toString: 7 };
    stats.splits.validation!.bySlice.main_category = {};
    await run.store.write(uri, JSON.stringify(stats));
    const model = buildReportModel(
      await loadRunFiles(run.store, run.ledger, run.runId),
      run.config,
      new Date(),
    );
    const category = model.data.sliceCounts.find((c) => c.column === "main_category")!;
    expect(category.values).toBe(1_001);
    expect(category.counts).toHaveLength(60);
    expect(category.counts.every((c) => typeof c.rows === "number" && Number.isFinite(c.rows))).toBe(true);
    const pooled = category.counts.at(-1)!;
    expect(pooled).toMatchObject({ value: "942 other values", pooled: true, judged: false });
    const total = (c: { rows: number }[]) => c.reduce((n, x) => n + x.rows, 0);
    expect(total(category.counts)).toBe(2 * 500_500 + 7);
    const html = await renderReportHtml(model);
    expect(html).toContain("the 59 largest of 1001 values, the others pooled in one bar");
  });

  it("draws the judged slices and the largest others in the fairness chart and the heatmap, 60 at most", async () => {
    const run = await fixtureRun("promoted");
    const uri = `${runDir(run.store.bucket, run.runId)}/evaluate/a1/slices.json`;
    const report = JSON.parse((await run.store.read(uri)).toString()) as SliceReport;
    const small = report.slices.find((x) => x.column === "main_category" && !x.judged)!;
    const extra = Array.from({ length: 200 }, (_, i) => ({ ...small, value: `tiny ${i}`, support: 1 }));
    await run.store.write(uri, JSON.stringify({ ...report, slices: [...report.slices, ...extra] }));
    const html = (
      await renderRunReport({ store: run.store, ledger: run.ledger, config: run.config }, run.runId)
    ).html;
    const figure = (name: string) =>
      html.match(new RegExp(`<figure class="chart" data-chart="${name}">.*?</figure>`, "s"))![0];
    const categories = report.slices.filter((x) => x.column === "main_category").length + 200;
    expect(figure("slice-f1-main_category")).toContain(
      `The judged values and the largest, 60 of ${categories}; the ${categories - 60} others are in the table below.`,
    );
    const heat = figure("slice-class-f1");
    expect(heat.match(/aria-roledescription="rect mark"/g)).toHaveLength(3 * 60);
    expect(heat).toContain(`${report.slices.length + 200 - 60} smaller ones are left out`);
    // The judged slices are all drawn.
    for (const judged of report.slices.filter((x) => x.judged))
      expect(heat).toContain(`>${judged.column} = ${esc(judged.value)}</text>`);
  });

  it("says in the figure when Vega cannot draw a chart, instead of failing the report", async () => {
    // The distribution chart as it was: a sort list holding "constructor" made Vega fail to parse the chart.
    const broken: TopLevelSpec = {
      data: { values: [{ value: "constructor", rows: 1 }] },
      mark: "bar",
      encoding: {
        y: { field: "value", type: "nominal", sort: ["constructor"] },
        x: { field: "rows", type: "quantitative" },
      },
    };
    await expect(renderSvg(broken)).rejects.toBeInstanceOf(ChartError);
    const figure = await chartFigure("slices-c", broken, "caption");
    expect(figure).toMatch(
      /^<figure class="chart" data-chart="slices-c"><p class="chart-error">This chart could not be drawn: .+<\/p><figcaption>caption<\/figcaption><\/figure>$/s,
    );
  });

  it("names in the tuning chart's legend only the models the trials tried", async () => {
    const trial = (number: number, modelFamily: string, model = modelFamily) => ({
      number,
      value: 0.7,
      state: "COMPLETE",
      modelFamily,
      model,
      round: "a1",
      bestSoFar: 0.7,
    });
    const legend = async (trials: ReturnType<typeof trial>[]) =>
      [...(await renderSvg(tuningChart(trials))).matchAll(/>(bert|roberta|minilm)</g)].map((m) => m[1]);
    expect(await legend([trial(1, "bert"), trial(2, "bert")])).toEqual(["bert"]);
    expect(await legend([trial(1, "roberta"), trial(2, "bert")])).toEqual(["bert", "roberta"]);
    // With `--model minilm` the searched family is minilm: the legend says what was trained.
    expect(await legend([trial(1, "bert", "minilm")])).toEqual(["minilm"]);
  });

  it("reads trials.csv as the trainer writes it (`trial`, from 1) and as older runs did (`number`, from 0)", async () => {
    const run = await fixtureRun("promoted");
    const uri = `${runDir(run.store.bucket, run.runId)}/tune/a1/trials.csv`;
    const read = async () => (await loadRunFiles(run.store, run.ledger, run.runId)).tune[0]!.trials;
    // The header of gpu-jobs/trainer/sentiment_trainer/tune.py (_trials_table), a pruned trial without epochs.
    const trainer = ["trial", "state", "value", "model_family", "learning_rate", "batch_size", "epochs"];
    await run.store.write(
      uri,
      `${trainer.join(",")}\n1,COMPLETE,0.69,bert,0.0001,32,3\n2,PRUNED,,bert,5e-5,32,\n`,
    );
    const current = await read();
    expect(current.ok && current.value.map((t) => [t.number, t.state, t.value, t.epochs])).toEqual([
      [1, "COMPLETE", 0.69, 3],
      [2, "PRUNED", null, null],
    ]);
    await run.store.write(uri, "number,state,value,model_family\n0,COMPLETE,0.7,bert\n");
    const older = await read();
    expect(older.ok && older.value.map((t) => t.number)).toEqual([1]);
    await run.store.write(uri, "id,state\n1,COMPLETE\n");
    expect(await read()).toMatchObject({ ok: false, reason: "no trial column in the header (id,state)" });
  });

  it("uses the gate of the config it is given", async () => {
    const files = await loadRunFiles(blocked.store, blocked.ledger, blocked.runId);
    const strict = parseConfig({
      runtime: { mode: "embedded", localRoot: blocked.root },
      rules: { f1Min: 0.9 },
    });
    const tile = buildReportModel(files, strict, new Date()).figures[0]!;
    expect(tile).toMatchObject({ tone: "bad", note: "below the gate of 0.90" });
  });

  it("reads CSV with quoted commas, quotes and CRLF line ends", () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n1,\n')).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"'],
      ["1", ""],
    ]);
  });
});

describe("run report: slices that could not be judged, and the champion per slice", () => {
  /** The promoted fixture with its final slices.json rewritten, the report rendered again. */
  async function rerender(edit: (r: FixtureRun["slices"]) => FixtureRun["slices"]) {
    const run = await fixtureRun("promoted");
    const uri = run.state.artifacts.evaluation!.slicesUri;
    // Judged again from the edited threshold, as a report written before `judged` was kept is.
    const unjudged = { ...run.slices, slices: run.slices.slices.map(({ judged: _j, ...x }) => x) };
    await run.store.write(uri, JSON.stringify(edit(unjudged)));
    return (await renderRunReport({ store: run.store, ledger: run.ledger, config: run.config }, run.runId))
      .html;
  }

  it("puts an amber 'no slice could be judged' in the headline, the slices section and the model card", async () => {
    // Every slice under a 90% share: none can be judged, as no category of the real sample holds 10% of its rows.
    const html = await rerender((r) => ({ ...r, threshold: { ...r.threshold, minSliceShare: 0.9 } }));
    const verdict = textOf(html, 'data-verdict="promoted"');
    expect(html).toMatch(/class="verdict tone-warn" data-verdict="promoted"/);
    expect(verdict).toContain("Promoted: registered as version 2 (champion), but no slice could be judged");
    expect(verdict).toMatch(/main_category: \d+ values, the largest \(\S+\) holds \d+ of 200 test rows/);
    expect(verdict).toContain("a slice is judged from 90% of the test rows (minSliceRows unset)");
    expect(html).toContain('data-bias-coverage="none"');
    expect(textOf(html, 'data-figures="headline"')).toContain("no slice could be judged");
    expect(textOf(html, 'data-table="limitations"')).toContain("No slice could be judged:");
    expect(html).not.toContain("None of the 0 judged slices");
  });

  it("stays green when every column had a slice judged", () => {
    expect(promotedHtml).toMatch(/class="verdict tone-good" data-verdict="promoted"/);
    expect(promotedHtml).toContain('data-bias-coverage="full"');
  });

  it("judges by the row count when the file sets one, and shows the champion's F1 beside each slice", async () => {
    const html = await rerender((r) => ({
      ...r,
      threshold: { ...r.threshold, minSliceShare: 0.9, minSliceRows: 1 },
      champion: { modelVersion: "1", overallF1: 0.81 },
      slices: r.slices.map((s, i) => ({ ...s, championF1: 0.5 + i / 100 })),
    }));
    expect(html).toContain('data-bias-coverage="full"');
    expect(html).toContain("or at least 1 row,");
    const table = html.slice(html.indexOf('data-table="every-slice"'));
    expect(table.slice(0, table.indexOf("</thead>"))).toContain("champion v1");
    expect(textOf(html, 'data-table="every-slice"')).toContain("0.510");
  });
});
