// Every slice of the final evaluation beside its F1 at the run's earlier evaluations (before mitigation) and the
// champion's F1 on the same rows: the table that shows whether mitigation moved a slice, and against what.
import type { Interval, SliceKind, SliceReport } from "../schemas/metrics.ts";
import type { RunFiles } from "./run-files.ts";

export interface SliceRunColumn {
  attempt: number;
  /**
   * "before mitigation (a1)", "after mitigation (a2)", or "a1" when the run was not mitigated; "…, same model as a2"
   * when the attempt re-scored the model an earlier attempt scored (a retrigger from evaluate, new rules perhaps).
   */
  label: string;
  mitigated: boolean;
}

export interface SliceRow {
  column: string;
  value: string;
  kind: SliceKind;
  support: number;
  share: number;
  judged: boolean;
  biased: boolean;
  significant: boolean;
  ratio: number;
  f1Interval: Interval | null;
  /** The slice's F1 at each attempt of `attempts`, null where that evaluation did not have it. */
  f1: (number | null)[];
  championF1: number | null;
}

/** Rows in the final report's order (column by column, pooled after values, crossed cells last). */
export function sliceRows(
  files: RunFiles,
  finalAttempt: number,
  read: (r: SliceReport | null) => SliceReport | null,
): { attempts: SliceRunColumn[]; rows: SliceRow[] } {
  const reports = files.evaluate
    .filter((e) => e.attempt <= finalAttempt && e.slices.ok)
    .map((e) => ({
      attempt: e.attempt,
      report: read(e.slices.ok ? e.slices.value : null)!,
      modelUri: e.metrics.ok ? e.metrics.value.modelUri : null,
      mitigated: mitigatedModel(files, e.metrics.ok ? e.metrics.value.modelUri : null),
    }));
  const last = reports.find((r) => r.attempt === finalAttempt);
  if (!last) return { attempts: [], rows: [] };
  const anyMitigated = reports.some((r) => r.mitigated);
  const attempts = reports.map((r, i): SliceRunColumn => {
    const before = !r.mitigated && reports.slice(i + 1).some((x) => x.mitigated);
    const same = r.modelUri
      ? reports
          .slice(0, i)
          .reverse()
          .find((x) => x.modelUri === r.modelUri)
      : undefined;
    const again = same ? `same model as a${same.attempt}` : null;
    const label =
      !anyMitigated || (!r.mitigated && !before)
        ? `a${r.attempt}${again ? ` (${again})` : ""}`
        : `${r.mitigated ? "after" : "before"} mitigation (a${r.attempt}${again ? `, ${again}` : ""})`;
    return { attempt: r.attempt, label, mitigated: r.mitigated };
  });
  // A pooled or crossed slice is the same slice only if it pools the same values: `year = other` holds other years
  // once a retrigger judges by a row count, and its earlier F1 was measured on other rows.
  const key = (s: { column: string; value: string; where?: unknown }) =>
    JSON.stringify([s.column, s.value, s.where ?? null]);
  const byAttempt = reports.map((r) => new Map(r.report.slices.map((s) => [key(s), s.f1])));
  const rows = last.report.slices.map((s): SliceRow => ({
    column: s.column,
    value: s.value,
    kind: s.kind ?? "value",
    support: s.support,
    share: s.share,
    judged: s.judged === true,
    biased: s.biased,
    significant: s.significant,
    ratio: s.ratio,
    f1Interval: s.f1Interval,
    f1: byAttempt.map((m) => m.get(key(s)) ?? null),
    championF1: s.championF1 ?? null,
  }));
  return { attempts, rows };
}

/** Whether the model an evaluation scored was trained with a mitigation plan (its train attempt's metadata). */
function mitigatedModel(files: RunFiles, modelUri: string | null): boolean {
  const attempt = Number(/\/train\/a(\d+)\/model\/?$/.exec(modelUri ?? "")?.[1] ?? NaN);
  const train = files.train.find((t) => t.attempt === attempt);
  return Boolean(train?.metadata.ok && train.metadata.value.mitigation);
}
