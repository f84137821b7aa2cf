// The report opened in headless Chromium: every chart and table drawn with the run's numbers, nothing fetched.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { writeRunReport } from "../../report/render-report.ts";
import { fixtureRun, type FixtureRun } from "./support/fixture-run.ts";
import {
  chromiumPresent,
  launchChromium,
  marks,
  networkRequests,
  openReport,
  texts,
  type El,
} from "./support/browser.ts";

const hasChromium = chromiumPresent("the browser test of the report");

interface Opened {
  run: FixtureRun;
  page: Page;
  requests: string[];
}

let browser: Browser | undefined;

async function open(scenario: "blocked_bias" | "promoted" | "failed"): Promise<Opened> {
  const run = await fixtureRun(scenario);
  const { uri } = await writeRunReport(
    { store: run.store, ledger: run.ledger, config: run.config },
    run.runId,
  );
  const { page, requests } = await openReport(browser!, run.store.pathOf(uri), `report-${scenario}`);
  return { run, page, requests };
}

describe.skipIf(!hasChromium)("report in a browser", () => {
  let blocked: Opened;
  let promoted: Opened;
  let failed: Opened;

  beforeAll(async () => {
    browser = await launchChromium();
    blocked = await open("blocked_bias");
    promoted = await open("promoted");
    failed = await open("failed");
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("loads nothing but the page itself", () => {
    for (const { requests } of [blocked, promoted, failed]) {
      expect(networkRequests(requests)).toEqual([]);
    }
  });

  it("shows the verdict in the first screenful", async () => {
    const box = await blocked.page.locator("[data-verdict]").boundingBox();
    expect(box!.y + box!.height).toBeLessThan(900);
    expect(await blocked.page.locator("[data-verdict] .verdict-title").textContent()).toBe(
      "Not promoted: biased slices",
    );
  });

  it("draws every chart with a visible size", async () => {
    const sizes = await blocked.page.locator("figure[data-chart] svg").evaluateAll((svgs: El[]) =>
      svgs.map((s) => {
        const r = s.getBoundingClientRect();
        return { chart: s.closest("figure")?.getAttribute("data-chart") ?? "", w: r.width, h: r.height };
      }),
    );
    expect(sizes).toHaveLength(12);
    for (const s of sizes) {
      expect(s.w, s.chart).toBeGreaterThan(200);
      expect(s.h, s.chart).toBeGreaterThan(80);
    }
  });

  it("draws the confusion matrix as nine cells with the evaluation's counts", async () => {
    expect(await marks(blocked.page, "confusion-matrix", "rect")).toHaveLength(9);
    const counts = (await texts(blocked.page, "confusion-matrix")).filter((t) => !t.endsWith("%"));
    expect(counts).toEqual(blocked.run.metrics.metrics.confusion.flat().map(String));
  });

  it("plots one point per slice value, with its interval, against the bias line", async () => {
    const bySlice = (column: string) => blocked.run.slices.slices.filter((s) => s.column === column);
    const points = await marks(blocked.page, "slice-f1-main_category", "symbol");
    expect(points).toHaveLength(bySlice("main_category").length);
    const grocery = bySlice("main_category").find((s) => s.value === "Grocery")!;
    expect(points.some((l) => l.includes("Grocery") && l.includes(grocery.f1.toFixed(3).slice(0, 4)))).toBe(
      true,
    );
    expect(await marks(blocked.page, "slice-f1-year", "symbol")).toHaveLength(bySlice("year").length);
    const labels = await texts(blocked.page, "slice-f1-year");
    expect(labels).toContain(`bias line ${(0.9 * blocked.run.slices.overallF1).toFixed(3)}`);
  });

  it("draws the data summary, rejected rows, tuning trials and training curves from the run's files", async () => {
    expect(await marks(blocked.page, "class-distribution", "rect")).toHaveLength(9);
    expect(await texts(blocked.page, "class-distribution")).toEqual(
      expect.arrayContaining(["400", "200", "1,000", "50", "30", "120"]),
    );
    expect(await marks(blocked.page, "rejected-reasons", "rect")).toHaveLength(2);
    expect(await marks(blocked.page, "tuning-history", "symbol")).toHaveLength(3);
    // Three epochs of two training attempts, in each of the two panels.
    expect(await marks(blocked.page, "training-curves", "symbol")).toHaveLength(12);
  });

  it("fills the tables with the run's numbers", async () => {
    const rows = (table: string) => blocked.page.locator(`[data-table="${table}"] tbody tr`);
    expect(await rows("classification-report").count()).toBe(5);
    const weighted = blocked.run.metrics.metrics.weightedF1.toFixed(3);
    expect(await rows("classification-report").last().textContent()).toContain(weighted);
    // Every slice is listed, judged or not.
    expect(await rows("every-slice").count()).toBe(blocked.run.slices.slices.length);
    expect(await rows("evaluations").count()).toBe(2);
    expect(await blocked.page.locator('[data-figures="headline"] .tile-value').first().textContent()).toBe(
      weighted,
    );
  });

  it("compares the champion on the same split when there is one", async () => {
    expect(await marks(promoted.page, "champion-comparison", "rect")).toHaveLength(12);
    const values = await texts(promoted.page, "champion-comparison");
    expect(values).toContain(promoted.run.metrics.champion!.metrics.weightedF1.toFixed(3));
    expect(values).toContain(promoted.run.metrics.metrics.weightedF1.toFixed(3));
    expect(await promoted.page.locator("[data-verdict] .verdict-title").textContent()).toBe(
      "Promoted: registered as version 2 (champion)",
    );
  });

  it("shows the error analysis of a promoted run: calibration, precision-recall, mistakes and class F1 per slice", async () => {
    const page = promoted.page;
    const a = promoted.run.analysis;
    expect(await page.locator('[data-section="errors"] h2').textContent()).toBe("Error analysis");
    // A bar and a mean-confidence tick (Vega draws ticks as rects too) per non-empty bin.
    expect(await marks(page, "reliability", "rect")).toHaveLength(
      2 * a.calibration.bins.filter((b) => b.count > 0).length,
    );
    expect(await marks(page, "precision-recall", "line")).toHaveLength(3);
    expect(await marks(page, "slice-class-f1", "rect")).toHaveLength(3 * promoted.run.slices.slices.length);
    const ece = await page.locator('[data-figures="error-analysis"] .tile-value').first().textContent();
    expect(ece).toBe(a.calibration.ece.toFixed(3));
    for (const label of ["NEGATIVE", "NEUTRAL", "POSITIVE"])
      expect(await page.locator(`[data-table="mistakes-${label}"] tbody tr`).count()).toBe(
        a.mistakes.filter((m) => m.label === label).length,
      );
    // The hostile review reads as its own text; none of its markup became an element.
    const review = await page.locator('[data-table="mistakes-NEGATIVE"] .review-text').first().textContent();
    expect(review).toMatch(/^<img src=x onerror="alert\('pwned'\)"> Broke after a day\. Returned it\./);
    expect(review!.endsWith("…")).toBe(true);
    expect(await page.locator("main img").count()).toBe(0);
  });

  it("labels the epoch axis with whole epochs, each once", async () => {
    const labels = await blocked.page
      .locator('figure[data-chart="training-curves"] g.role-axis-label')
      .first()
      .locator("text")
      .allTextContents();
    expect(labels).toEqual(["1", "2", "3"]);
  });

  it("leaves out of a failed run what it never produced, and shows no empty section in any run", async () => {
    const sections = (o: Opened) =>
      o.page.locator("main section[data-section]").evaluateAll((els: El[]) =>
        els.map((e) => ({
          id: e.getAttribute("data-section") ?? "",
          text: (e.textContent ?? "").replace(/\s+/g, " ").trim(),
          height: e.getBoundingClientRect().height,
        })),
      );
    const failedSections = await sections(failed);
    expect(failedSections.map((s) => s.id)).toEqual(["decisions", "data", "tuning"]);
    expect(await failed.page.locator("[data-verdict] .verdict-title").textContent()).toBe("Failed");
    for (const o of [blocked, promoted, failed])
      for (const s of await sections(o)) {
        expect(s.height, s.id).toBeGreaterThan(120);
        expect(s.text, s.id).not.toMatch(/not available|has no \w+ results|no \w+ report is available/i);
      }
    const promotedIds = (await sections(promoted)).map((s) => s.id);
    expect(promotedIds).toEqual(
      expect.arrayContaining(["evaluation", "errors", "slices", "champion", "model-card"]),
    );
  });
});
