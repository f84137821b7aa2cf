// The demo on the real review sample, as a user runs it, and its report opened in headless Chromium: the champion
// tile, slices that could not be judged (amber) and slices judged by the row-count rule after a retrigger, the error
// analysis drawn, no empty section, nothing fetched.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { RunState } from "../../schemas/run-state.ts";
import { SliceReport } from "../../schemas/metrics.ts";
import { ErrorAnalysis } from "../../schemas/error-analysis.ts";
import { reportUri } from "../../report/report-location.ts";
import { LABELS } from "../../schemas/names.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";
import { REPO_ROOT, reviewsSample, trainerPython } from "../inference/python-env.ts";
import {
  chromiumPresent,
  launchChromium,
  marks,
  networkRequests,
  colorOf,
  openReport,
  renderedSections,
  tableRows,
  type El,
} from "./support/browser.ts";

// Each is an error under CI=true, a skip elsewhere.
const hasChromium = chromiumPresent("the real-sample report test");
const sample = reviewsSample();
const python = trainerPython();
const ready = hasChromium && sample.path !== null && python.path !== null;
if (hasChromium && !ready)
  console.warn(`the real-sample report test is skipped: ${sample.skip ?? python.skip}`);

/** The report's amber (styles.ts --warn, #b45309) as the browser computes it. */
const AMBER = "rgb(180, 83, 9)";
const MIN_ROWS = 20;

interface Cli {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One of the project's own commands in a child process, as a user types it, against LOCAL_ROOT. */
function command(args: string[], root: string, env: Record<string, string> = {}): Promise<Cli> {
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    // Only what the command line sets decides the rules and the tracking, not the shell the tests run in.
    delete childEnv.MLFLOW_TRACKING_URI;
    delete childEnv.MIN_SLICE_ROWS;
    Object.assign(childEnv, { LOCAL_ROOT: root, SP_TRAINER_PYTHON: python.path ?? "" }, env);
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface Opened {
  page: Page;
  requests: string[];
  state: RunState;
  slices: SliceReport;
  analysis: ErrorAnalysis;
}

describe.skipIf(!ready)("the report of a demo on the real review sample, in a browser", () => {
  const root = mkdtempSync(join(tmpdir(), "sp-real-report-"));
  const store = new LocalObjectStore("local-bucket", join(root, "bucket"));
  let browser: Browser;
  let demo: Cli;
  let retrigger: Cli;
  /** The run as the demo left it (default rules: share of the test split only). */
  let first: Opened;
  /** The same run after `retrigger --from evaluate` with MIN_SLICE_ROWS=20. */
  let byRows: Opened;
  const took: Record<string, number> = {};

  const read = <T>(uri: string, parse: (v: unknown) => T): T =>
    parse(JSON.parse(readFileSync(store.pathOf(uri), "utf8")));

  async function open(state: RunState, shot: string): Promise<Opened> {
    const evaluation = state.artifacts.evaluation!;
    const analysisUri = evaluation.metricsUri.replace(/metrics\.json$/, "analysis.json");
    const { page, requests } = await openReport(
      browser,
      store.pathOf(reportUri(store.bucket, state.runId)),
      shot,
    );
    return {
      page,
      requests,
      state,
      slices: read(evaluation.slicesUri, (v) => SliceReport.parse(v)),
      analysis: read(analysisUri, (v) => ErrorAnalysis.parse(v)),
    };
  }

  beforeAll(async () => {
    let t = Date.now();
    // `npm run demo -- --input FILE --trials 2 --no-mlflow --json`: the default model (tiny), the default rules.
    demo = await command(
      [
        "--import",
        "tsx",
        "emulator/demo.ts",
        "--input",
        sample.path!,
        "--trials",
        "2",
        "--no-mlflow",
        "--json",
      ],
      root,
    );
    took.demo = Date.now() - t;
    if (demo.code !== 0 || !demo.stdout.trim())
      throw new Error(`the demo failed (${demo.code}):\n${demo.stderr}`);
    const state = RunState.parse(JSON.parse(demo.stdout.trim().split("\n").at(-1)!));
    browser = await launchChromium();
    t = Date.now();
    first = await open(state, "report-real-sample");
    took.browser = Date.now() - t;

    // What the amber verdict invites: judge by a row count instead, and evaluate the same model again.
    t = Date.now();
    retrigger = await command(
      [
        "cli/bin/sentiment-pipeline.js",
        "retrigger",
        state.runId,
        "--from",
        "evaluate",
        "--reason",
        `judge slices from ${MIN_ROWS} rows`,
      ],
      root,
      { MIN_SLICE_ROWS: String(MIN_ROWS) },
    );
    took.retrigger = Date.now() - t;
    const after = (await new LocalRunLedger(join(root, "bucket")).get(state.runId))!.state;
    byRows = await open(after, "report-real-sample-min-rows");
    console.log(
      `real-sample report test: demo ${(took.demo / 1000).toFixed(0)} s, retrigger ${(took.retrigger / 1000).toFixed(0)} s, first report in the browser ${(took.browser / 1000).toFixed(1)} s`,
    );
  }, 20 * 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("ran the demo and the retrigger to an outcome on the sample's reviews", () => {
    expect(first.state.status).toBe("completed");
    expect(first.state.outcome).not.toBe("failed");
    expect(first.state.artifacts.prepared?.rowsKept).toBeGreaterThan(2900);
    expect(first.analysis.testRows).toBeGreaterThan(250);
    // 0 promoted, 3 completed without promoting (docs/cli.md): accepted and followed to an outcome, not refused (1).
    expect([0, 3], retrigger.stderr).toContain(retrigger.code);
    expect(byRows.state.status).toBe("completed");
    expect(byRows.state.steps.evaluate.attempt).toBe(first.state.steps.evaluate.attempt + 1);
    expect(byRows.slices.threshold.minSliceRows).toBe(MIN_ROWS);
  });

  it("loads nothing but the page itself", () => {
    for (const o of [first, byRows]) {
      expect(o.requests[0]).toMatch(/^file:\/\/.*report\.html$/);
      expect(networkRequests(o.requests)).toEqual([]);
    }
  });

  it("says in the champion tile whether the line had a champion, and names the line", async () => {
    for (const o of [first, byRows]) {
      const line = o.state.modelLine!;
      expect(line).toBe("tiny-3class");
      const tiles = await headlineTiles(o.page);
      const champion = o.state.artifacts.evaluation!.champion;
      if (champion === null)
        expect(tiles).toContainEqual({
          label: "Champion",
          value: "first of its line",
          note: `no champion of line ${line} yet`,
        });
      else expect(tiles.map((t) => t.label)).toContain(`vs ${line} champion v${champion.modelVersion}`);
      expect(await o.page.locator("header.top").textContent()).toContain(`model line ${line}`);
      expect(await o.page.locator('[data-section="champion"]').textContent()).toMatch(
        champion === null ? `First of its line ${line}` : `champion v${champion.modelVersion}`,
      );
    }
  });

  it("says in amber that no main_category slice could be judged by the share rule", async () => {
    const { page, state, slices } = first;
    // The sample's 29 test-split categories each hold under 10% of its 299 test rows.
    expect(state.artifacts.evaluation!.unjudgedColumns).toContain("main_category");
    const unjudged = "no main_category slice could be judged";
    expect(await page.locator("[data-verdict]").textContent()).toContain(unjudged);
    // The trail records it as a caveat, in amber.
    const caveat = page.locator(".trail-item", { hasText: `bias check: ${unjudged}` });
    expect(await caveat.count()).toBeGreaterThan(0);
    expect(await colorOf(page, `.trail-item:has-text("bias check: ${unjudged}") .badge`)).toBe(AMBER);
    const biased = slices.slices.filter((x) => x.biased).length;
    if (biased === 0) {
      // Nothing else to say: the headline and the slices' summary are amber, not green.
      expect(await colorOf(page, "[data-verdict] .verdict-title")).toBe(AMBER);
      expect(await colorOf(page, "[data-bias-coverage] .note")).toBe(AMBER);
      expect(await page.locator("[data-bias-coverage] .note").textContent()).toContain(unjudged);
    } else {
      // A biased slice decides the verdict (red); the unjudged column still reads in it and in the slices' note.
      expect(await page.locator('[data-section="slices"] .note').first().textContent()).toContain(unjudged);
    }
    const rows = await tableRows(page, "every-slice");
    const categories = rows.filter((r) => r[0]!.startsWith("main_category = "));
    expect(categories.length).toBeGreaterThan(20);
    for (const r of categories) expect(r.at(-1), r[0]).toBe("not judged");
  });

  it(`judges slices by the row-count rule (${MIN_ROWS} rows) after the retrigger from evaluate`, async () => {
    const { page, state, slices } = byRows;
    expect(await page.locator('[data-section="slices"] .lead').textContent()).toContain(
      `at least 10% of the test rows or at least ${MIN_ROWS} rows`,
    );
    // Slices under 10% of the test rows, judged only because they hold 20 rows or more.
    const byCount = slices.slices.filter(
      (x) => x.column === "main_category" && x.kind !== "other" && x.share < 0.1 && x.support >= MIN_ROWS,
    );
    expect(byCount.length).toBeGreaterThan(0);
    const rows = await tableRows(page, "every-slice");
    for (const x of byCount) {
      const row = rows.find((r) => r[0] === `main_category = ${x.value}`);
      expect(row, x.value).toBeDefined();
      expect(row!.at(-1), x.value).toMatch(x.biased ? /^biased/ : /^fair$/);
    }
    expect(state.artifacts.evaluation!.unjudgedColumns ?? []).not.toContain("main_category");
    expect(await page.locator("[data-verdict]").textContent()).not.toContain(
      "no main_category slice could be judged",
    );
    // The trail says who asked for the new evaluation and why; every evaluation is listed.
    expect(await page.locator('[data-table="trail"]').textContent()).toContain(
      `judge slices from ${MIN_ROWS} rows`,
    );
    // The slices table's new column says it scored the same model again, under the new rule.
    const previous = first.state.steps.evaluate.attempt;
    // "a2 (same model as a1)", or "after mitigation (a3, same model as a2)" after a mitigated re-training.
    expect(await page.locator('[data-table="every-slice"] thead').textContent()).toMatch(
      new RegExp(`a${previous + 1}(, | \\()same model as a${previous}\\b`),
    );
    expect(await page.locator('[data-table="evaluations"] tbody tr').count()).toBe(
      state.steps.evaluate.attempt,
    );
  });

  it("draws the error analysis: reliability diagram, precision-recall curves, mistakes and class F1 per slice", async () => {
    for (const { page, analysis, slices } of [first, byRows]) {
      expect(await page.locator('[data-section="errors"] h2').textContent()).toBe("Error analysis");
      expect(await page.locator('[data-figures="error-analysis"] .tile-value').first().textContent()).toBe(
        analysis.calibration.ece.toFixed(3),
      );
      // A bar and a mean-confidence tick (Vega draws ticks as rects too) per non-empty bin.
      const bins = analysis.calibration.bins.filter((b) => b.count > 0).length;
      expect(bins).toBeGreaterThan(0);
      expect(await marks(page, "reliability", "rect")).toHaveLength(2 * bins);
      const curves = analysis.precisionRecall.filter((c) => c.positives > 0).length;
      expect(curves).toBe(3);
      expect(await marks(page, "precision-recall", "line")).toHaveLength(curves);
      let shown = 0;
      for (const label of LABELS) {
        const rows = await tableRows(page, `mistakes-${label}`);
        expect(rows, label).toHaveLength(analysis.mistakes.filter((m) => m.label === label).length);
        for (const r of rows) expect(r.join(" ").length, label).toBeGreaterThan(10);
        shown += rows.length;
      }
      expect(shown).toBeGreaterThan(0);
      expect(await marks(page, "slice-class-f1", "rect")).toHaveLength(3 * slices.slices.length);
      // One readable, distinct row label per slice (Vega cuts labels at its label limit).
      const labels = (
        await page.locator('figure[data-chart="slice-class-f1"] g.role-axis-label text').allTextContents()
      ).filter((l) => l.includes(" = "));
      expect(labels).toHaveLength(slices.slices.length);
      expect(new Set(labels).size).toBe(labels.length);
    }
  });

  it("shows no empty section, no unreadable file and no undefined, NaN or null", async () => {
    for (const o of [first, byRows]) {
      const { page } = o;
      const sections = await renderedSections(page);
      expect(sections.map((x) => x.id)).toEqual([
        "decisions",
        "data",
        "tuning",
        "training",
        "evaluation",
        "errors",
        "slices",
        "champion",
        "model-card",
      ]);
      for (const x of sections) {
        expect(x.width, x.id).toBeGreaterThan(600);
        expect(x.height, x.id).toBeGreaterThan(120);
        expect(x.content, x.id).toBeGreaterThan(0);
        // Nothing cut off at the right edge (the every-slice table with three evaluations once was).
        expect(x.overflow, x.id).toBeLessThanOrEqual(0);
        // More than its heading.
        expect(x.text.length, x.id).toBeGreaterThan(80);
        expect(x.text, x.id).not.toMatch(/not available|has no \w+ results|no \w+ report is available/i);
      }
      // Every chart drawn at a visible size with marks in it; every table and list has rows.
      const charts = await page.locator("main figure[data-chart]").evaluateAll((figs: El[]) =>
        figs.map((f) => {
          const svg = f.querySelectorAll("svg")[0];
          const box = svg?.getBoundingClientRect() ?? { width: 0, height: 0 };
          return {
            chart: f.getAttribute("data-chart") ?? "",
            w: box.width,
            h: box.height,
            marks: f.querySelectorAll("g.role-mark > *").length,
          };
        }),
      );
      expect(charts.length).toBeGreaterThan(10);
      for (const c of charts) {
        expect(c.w, c.chart).toBeGreaterThan(200);
        // A one-bar chart (the sample's one rejection reason) is about 60 px tall.
        expect(c.h, c.chart).toBeGreaterThan(40);
        expect(c.marks, c.chart).toBeGreaterThan(0);
      }
      const tables = await page.locator("main [data-table]").evaluateAll((els: El[]) =>
        els.map((t) => ({
          table: t.getAttribute("data-table") ?? "",
          rows: t.querySelectorAll("tbody tr, li, dl > div").length,
        })),
      );
      for (const t of tables) expect(t.rows, t.table).toBeGreaterThan(0);
      // The page's own words (the reviews shown are the uploader's and may say anything).
      const words = await page.locator("main").evaluate((m: El) => {
        const copy = m.cloneNode(true);
        for (const r of Array.from(copy.querySelectorAll(".review-text"))) r.remove();
        return copy.textContent ?? "";
      });
      expect(words).not.toMatch(/\b(undefined|NaN|null|Infinity)\b|\[object/);
      expect(await page.locator("footer").textContent()).not.toContain("Missing or unreadable files");
    }
  });
});

async function headlineTiles(page: Page): Promise<{ label: string; value: string; note: string }[]> {
  return page.locator('[data-figures="headline"] .tile').evaluateAll((tiles: El[]) =>
    tiles.map((t) => {
      const text = (cls: string) => (t.querySelectorAll(cls)[0]?.textContent ?? "").trim();
      return { label: text(".tile-label"), value: text(".tile-value"), note: text(".tile-note") };
    }),
  );
}
