// Headless Chromium for the report's browser tests: one launch setup, and readers of what the page actually drew.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = process.env.SP_CHROMIUM ?? "/usr/bin/chromium";
/** No GPU, no sandbox (containers), and none of Chromium's own traffic: a request the page makes is the page's. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Where the screenshots go: CI keeps .local/test-results as the run's artifacts. */
export const SHOTS = resolve(import.meta.dirname, "../../../.local/test-results");

/** Whether Chromium is installed; under CI=true its absence is an error, not a skip. */
export function chromiumPresent(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: ${what} is skipped (apt-get install -y chromium)`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(message);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

export interface OpenedPage {
  page: Page;
  /** Every URL the page requested, in order (the page itself included). */
  requests: string[];
}

/** Opens a report file at a desktop size, records its requests and saves a full-page screenshot as SHOTS/NAME.png. */
export async function openReport(browser: Browser, file: string, shot: string): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(`file://${file}`, { waitUntil: "load" });
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${shot}.png`), fullPage: true });
  return { page, requests };
}

/** Requests that left the page's own file: anything but file: and data: URLs. */
export function networkRequests(requests: string[]): string[] {
  return requests.filter((u) => !u.startsWith("file://") && !u.startsWith("data:"));
}

/** The little of the DOM these checks use (the project's TypeScript has no DOM library). */
export interface El {
  getAttribute(name: string): string | null;
  textContent: string | null;
  closest(selector: string): El | null;
  getBoundingClientRect(): { width: number; height: number };
  querySelectorAll(selector: string): ArrayLike<El>;
  cloneNode(deep: boolean): El;
  scrollWidth: number;
  clientWidth: number;
  remove(): void;
}

/** Marks of one kind inside a named chart, as Vega draws them in SVG (their aria-label, else their text). */
export function marks(
  page: Page,
  chart: string,
  mark: "rect" | "symbol" | "text" | "rule" | "line",
): Promise<string[]> {
  return page
    .locator(`figure[data-chart="${chart}"] g.mark-${mark}.role-mark > *`)
    .evaluateAll((els: El[]) => els.map((e) => e.getAttribute("aria-label") ?? e.textContent ?? ""));
}

/** The text marks of a named chart (the numbers and labels drawn inside the plot). */
export function texts(page: Page, chart: string): Promise<string[]> {
  return page.locator(`figure[data-chart="${chart}"] g.mark-text.role-mark text`).allTextContents();
}

export interface RenderedSection {
  id: string;
  /** The section's text, whitespace collapsed. */
  text: string;
  width: number;
  height: number;
  /** Drawn things: chart marks, table body rows, tiles, list items, paragraphs. */
  content: number;
  /** How far its content sticks out sideways (a table too wide for the page), in px. */
  overflow: number;
}

/** Every section of the report's main column as the browser laid it out. */
export function renderedSections(page: Page): Promise<RenderedSection[]> {
  return page.locator("main section[data-section]").evaluateAll((els: El[]) =>
    els.map((e) => {
      const box = e.getBoundingClientRect();
      return {
        id: e.getAttribute("data-section") ?? "",
        text: (e.textContent ?? "").replace(/\s+/g, " ").trim(),
        width: box.width,
        height: box.height,
        content: e.querySelectorAll(
          "g.role-mark > *, tbody tr, .tile, li, p, dl.params > div, .trail-item, .chart svg",
        ).length,
        overflow: e.scrollWidth - e.clientWidth,
      };
    }),
  );
}

/** The browser's computed style, where the callbacks below run (the project's TypeScript has no DOM library). */
declare function getComputedStyle(e: El): { color: string };

/** The computed text colour of the first element matching the selector. */
export function colorOf(page: Page, selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .evaluate((e: El) => getComputedStyle(e).color);
}

/** Each body row of a table as its cells' text, whitespace collapsed. */
export function tableRows(page: Page, table: string): Promise<string[][]> {
  return page
    .locator(`[data-table="${table}"] tbody tr`)
    .evaluateAll((rows: El[]) =>
      rows.map((r) =>
        Array.from(r.querySelectorAll("td")).map((td) => (td.textContent ?? "").replace(/\s+/g, " ").trim()),
      ),
    );
}
