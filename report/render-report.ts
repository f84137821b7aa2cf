// Renders a run's report: one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched) per run.
import type { TopLevelSpec } from "vega-lite";
import type { PipelineConfig } from "../schemas/config.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { esc, type ChartRenderer } from "./html-kit.ts";
import { buildReportModel, type ReportModel } from "./report-model.ts";
import { loadRunFiles } from "./run-files.ts";
import { ChartError, renderSvg } from "./render-svg.ts";
import { reportUri } from "./report-location.ts";
import { REPORT_CSS } from "./styles.ts";
import { trailSection, verdictBlock } from "./sections/outcome.ts";
import { dataSection } from "./sections/data.ts";
import { trainingSection, tuningSection } from "./sections/training.ts";
import { evaluationSection } from "./sections/evaluation.ts";
import { errorsSection } from "./sections/errors.ts";
import { slicesSection } from "./sections/slices.ts";
import { championSection } from "./sections/champion.ts";
import { modelCardSection } from "./sections/model-card.ts";

export interface ReportDeps {
  store: ObjectStore;
  ledger: RunLedger;
  config: PipelineConfig;
  now?: () => Date;
}

/** Reads the run folder and renders its report; throws UnknownRunError for a run without state. */
export async function renderRunReport(
  deps: ReportDeps,
  runId: string,
): Promise<{ html: string; model: ReportModel }> {
  const files = await loadRunFiles(deps.store, deps.ledger, runId);
  const model = buildReportModel(files, deps.config, (deps.now ?? (() => new Date()))());
  return { html: await renderReportHtml(model), model };
}

/** Renders and stores the report as runs/RUN_ID/report.html; resolves with its URI. */
export async function writeRunReport(
  deps: ReportDeps,
  runId: string,
): Promise<{ uri: string; model: ReportModel }> {
  const { html, model } = await renderRunReport(deps, runId);
  const uri = reportUri(deps.store.bucket, runId);
  await deps.store.write(uri, html, { contentType: "text/html; charset=utf-8" });
  return { uri, model };
}

/** One chart as a figure. A chart that cannot be drawn says so in its place, and the report still renders. */
export const chartFigure: ChartRenderer = async (name: string, spec: TopLevelSpec, caption?: string) => {
  let svg: string;
  try {
    svg = await renderSvg(spec);
  } catch (err) {
    if (!(err instanceof ChartError)) throw err;
    svg = `<p class="chart-error">This chart could not be drawn: ${esc(err.message.slice(0, 300))}</p>`;
  }
  return `<figure class="chart" data-chart="${esc(name)}">${svg}${caption ? `<figcaption>${esc(caption)}</figcaption>` : ""}</figure>`;
};

export async function renderReportHtml(model: ReportModel): Promise<string> {
  const chart = chartFigure;
  // One at a time: each chart is CPU work, and the page reads top to bottom anyway.
  const sections: string[] = [trailSection(model)];
  for (const render of [
    dataSection,
    tuningSection,
    trainingSection,
    evaluationSection,
    errorsSection,
    slicesSection,
    championSection,
  ])
    sections.push(await render(model, chart));
  sections.push(modelCardSection(model));

  const toc = [
    ["decisions", "Decisions"],
    ["data", "Data"],
    ["tuning", "Tuning"],
    ["training", "Training"],
    ["evaluation", "Evaluation"],
    ["errors", "Error analysis"],
    ["slices", "Slices"],
    ["champion", "Champion"],
    ["model-card", "Model card"],
  ]
    .filter(([id]) => sections.some((s) => s.includes(`data-section="${id}"`)))
    .map(([id, title]) => `<a href="#${id}">${title}</a>`)
    .join("");
  const gaps = model.gaps.length
    ? `<p>Missing or unreadable files:</p><ul>${model.gaps.map((g) => `<li>${esc(g)}</li>`).join("")}</ul>`
    : "";

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sentiment-pipeline">
<title>${esc(model.verdict.title)} · ${esc(model.runId)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header class="top">
  <div class="kicker">sentiment-pipeline · run report</div>
  <h1>${esc(model.runId)}</h1>
  <div class="meta"><span><b>input</b> <code>${esc(model.input)}</code></span><span><b>started</b> ${esc(formatTime(model.createdAt))}</span><span><b>took</b> ${esc(model.duration)}${model.idle ? ` of work (+ ${esc(model.idle)} idle before a retrigger)` : ""}</span>${model.modelLine ? `<span><b>model line</b> <code>${esc(model.modelLine)}</code></span>` : ""}<span><b>run folder</b> <code>${esc(model.runUri)}</code></span>${model.mlflow ? `<span><b>MLflow</b> <a data-mlflow href="${esc(model.mlflow.url)}">${esc(model.mlflow.experimentName)}</a></span>` : ""}</div>
</header>
${verdictBlock(model)}
<nav class="toc">${toc}</nav>
${sections.filter((s) => s !== "").join("\n")}
<footer>
  <p>Generated ${esc(formatTime(model.generatedAt))} from the run folder by <code>sentiment-pipeline report ${esc(model.runId)}</code>. Charts: Vega-Lite, rendered to SVG. This page needs no network.</p>
  ${gaps}
</footer>
</main>
</body>
</html>
`;
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}
