// Small HTML building blocks for the report: escaping, tables, figures with their charts, number formats.
import type { TopLevelSpec } from "vega-lite";
import type { Figure, Tone } from "./report-model.ts";

/** Escapes text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Renders a chart to SVG; each section gets one so tests can count the charts by name. */
export type ChartRenderer = (name: string, spec: TopLevelSpec, caption?: string) => Promise<string>;

export function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}

export function pct(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function int(x: number): string {
  return x.toLocaleString("en-US");
}

export interface Column<T> {
  head: string;
  cell: (row: T) => string;
  /** Right-aligned, tabular figures. */
  numeric?: boolean;
}

export function table<T>(rows: T[], columns: Column<T>[], attrs = ""): string {
  const th = columns.map((c) => `<th${c.numeric ? ' class="num"' : ""}>${esc(c.head)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${columns.map((c) => `<td${c.numeric ? ' class="num"' : ""}>${c.cell(r)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  return `<table ${attrs}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function tiles(figures: Figure[], attrs = ""): string {
  return `<div class="tiles" ${attrs}>${figures
    .map(
      (f) =>
        `<div class="tile tone-${f.tone}"><div class="tile-label">${esc(f.label)}</div><div class="tile-value">${esc(f.value)}</div><div class="tile-note">${esc(f.note)}</div></div>`,
    )
    .join("")}</div>`;
}

export function section(id: string, title: string, lead: string, body: string): string {
  return `<section id="${esc(id)}" data-section="${esc(id)}">
<h2>${esc(title)}</h2>
${lead ? `<p class="lead">${lead}</p>` : ""}
${body}
</section>`;
}

export function note(text: string, tone: Tone = "neutral"): string {
  return `<p class="note tone-${tone}">${text}</p>`;
}

export function badge(text: string, tone: Tone | "info" = "neutral"): string {
  return `<span class="badge tone-${tone}">${esc(text)}</span>`;
}
