// The top of the report: the verdict in one sentence, the headline figures, and the decision trail that led there.
import { badge, esc, section, table, tiles } from "../html-kit.ts";
import type { ReportModel, TrailRow } from "../report-model.ts";

const ICONS = { good: "✓", bad: "✕", warn: "!", neutral: "…" } as const;

export function verdictBlock(model: ReportModel): string {
  const v = model.verdict;
  return `<div class="verdict tone-${v.tone}" data-verdict="${esc(v.outcome)}">
  <div class="verdict-icon" aria-hidden="true">${ICONS[v.tone]}</div>
  <div>
    <div class="verdict-title">${esc(v.title)}</div>
    <p class="verdict-reason">${esc(v.reason)}</p>${
      v.caveat
        ? `\n    <p class="verdict-reason verdict-caveat" data-caveat="slices">${esc(v.caveat)}</p>`
        : ""
    }
  </div>
</div>
${tiles(model.figures, 'data-figures="headline"')}`;
}

const KIND_LABEL: Record<TrailRow["kind"], string> = {
  start: "start",
  advance: "next step",
  retrigger: "retrigger",
  failure: "job failed",
  outcome: "outcome",
  register: "register",
  manual: "manual",
  caveat: "caveat",
};

export function trailSection(model: ReportModel): string {
  const items = model.trail
    .map(
      (t) => `<li class="trail-item kind-${t.kind}">
  <div class="trail-when">${esc(t.offset)}</div>
  <div class="trail-dot" aria-hidden="true"></div>
  <div class="trail-body"><div class="trail-meta">${badge(KIND_LABEL[t.kind], t.kind === "outcome" ? model.verdict.tone : t.kind === "failure" || t.kind === "retrigger" || t.kind === "caveat" ? "warn" : t.kind === "manual" ? "info" : "neutral")} <span class="trail-step">${esc(t.step)}</span> <span class="muted">on ${esc(t.event)}</span></div>
  <div class="trail-decision">${esc(t.decision)}</div></div>
</li>`,
    )
    .join("\n");
  const steps = table(
    model.steps,
    [
      { head: "step", cell: (s) => esc(s.step) },
      { head: "attempts", cell: (s) => (s.attempt ? String(s.attempt) : "–"), numeric: true },
      { head: "status", cell: (s) => badge(s.status, statusTone(s.status)) },
      { head: "last attempt took", cell: (s) => esc(s.duration), numeric: true },
    ],
    'class="compact" data-table="steps"',
  );
  return section(
    "decisions",
    "Why it ended this way",
    "Every decision the pipeline took, oldest first: each event the run waited for, and what the rules made of it.",
    `<div class="two-col wide-left"><ol class="trail" data-table="trail">${items}</ol><div>${steps}</div></div>`,
  );
}

function statusTone(status: string) {
  return status === "succeeded"
    ? "good"
    : status === "failed"
      ? "bad"
      : status === "running"
        ? "info"
        : "neutral";
}
