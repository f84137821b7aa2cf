// Renders a Vega-Lite spec to an SVG string in Node (no browser, no canvas): the charts the report inlines.
import type { LoggerInterface } from "vega";
import type { TopLevelSpec } from "vega-lite";

/** The report's look for every chart: its fonts, its greys, no frame around the plot. */
export const CHART_CONFIG = {
  font: 'Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
  background: "transparent",
  view: { stroke: null },
  axis: {
    labelColor: "#475569",
    titleColor: "#334155",
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 11,
    gridColor: "#e2e8f0",
    domainColor: "#cbd5e1",
    tickColor: "#cbd5e1",
  },
  legend: {
    labelColor: "#475569",
    titleColor: "#334155",
    labelFontSize: 11,
    titleFontSize: 11,
    orient: "bottom",
    direction: "horizontal",
    symbolOpacity: 1,
  },
  header: { labelColor: "#334155", labelFontSize: 12, labelFontWeight: 600 },
  text: { color: "#0f172a", fontSize: 11 },
} as const;

/** Label colours shared by every chart and the tables. */
export const LABEL_COLORS = { NEGATIVE: "#dc2626", NEUTRAL: "#f59e0b", POSITIVE: "#16a34a" } as const;

/** A chart Vega could not draw whole: it logs a dataflow error and goes on with a partial picture. */
export class ChartError extends Error {}

/** Compiles the Vega-Lite spec to Vega and renders it headless to SVG; throws ChartError where Vega logged an error. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import("vega"), import("vega-lite")]);
  const warnings: string[] = [];
  const logger = quietLogger(warnings);
  const compiled = vl.compile(
    { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } },
    {
      logger,
    },
  );
  const errors: string[] = [];
  let view: InstanceType<typeof vega.View> | null = null;
  try {
    view = new vega.View(vega.parse(compiled.spec), {
      renderer: "none",
      logLevel: vega.Error,
      logger: quietLogger([], errors),
    });
    const svg = await view.toSVG();
    if (errors.length > 0) throw new ChartError(errors[0]);
    return svg;
  } catch (err) {
    throw err instanceof ChartError ? err : new ChartError((err as Error).message);
  } finally {
    view?.finalize();
  }
}

/** Vega-Lite's compile warnings go to a list, not the console: a report renders inside functions whose stdout is logs. */
function quietLogger(sink: string[], errors: string[] = sink): LoggerInterface {
  let level = 0;
  const keep = (args: readonly unknown[]) => sink.push(args.map(String).join(" "));
  const fail = (args: readonly unknown[]) => errors.push(args.map(String).join(" "));
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: (...args: readonly unknown[]) => (fail(args), logger),
    warn: (...args: readonly unknown[]) => (keep(args), logger),
    info: () => logger,
    debug: () => logger,
  };
  return logger as LoggerInterface;
}
