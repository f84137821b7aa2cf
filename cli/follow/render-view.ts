// Draws a run view as text: the step list with state, attempt, elapsed time and progress bars, coloured on a terminal.
import type { RunView, StepView } from "./run-view.ts";
import { printable } from "../../emulator/describe-event.ts";

export interface Style {
  color: boolean;
  /** Columns available; bars shrink to fit. */
  width: number;
}

const CODES = {
  reset: "\x1b[0m",
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  cyan: "\x1b[36m",
} as const;

export type Paint = (code: keyof typeof CODES, text: string) => string;

export function painter(color: boolean): Paint {
  return (code, text) => (color ? `${CODES[code]}${text}${CODES.reset}` : text);
}

const ICONS: Record<StepView["status"], string> = {
  pending: "○",
  running: "●",
  succeeded: "✔",
  failed: "✖",
  skipped: "–",
};

/** The live block: a header line, one line per step, and the latest decision. */
export function renderView(view: RunView, now: Date, style: Style): string[] {
  const paint = painter(style.color);
  const lines: string[] = [];
  const elapsed = view.createdAt ? formatElapsed(now.getTime() - Date.parse(view.createdAt)) : "";
  const status =
    view.status === "completed"
      ? paint(
          view.outcome === "promoted" ? "green" : view.outcome === "failed" ? "red" : "yellow",
          view.outcome ?? "",
        )
      : view.status === "running"
        ? paint("cyan", "running")
        : paint("dim", "waiting for the run to start");
  lines.push(
    `${paint("bold", `run ${view.runId}`)}  ${status}${elapsed && view.status !== "completed" ? paint("dim", `  ${elapsed}`) : ""}`,
  );
  for (const s of view.steps) lines.push(stepLine(s, now, style, paint));
  const last = view.trail.at(-1);
  if (last) lines.push(paint("dim", fit(`  ↳ ${printable(last)}`, style.width)));
  return lines;
}

function stepLine(s: StepView, now: Date, style: Style, paint: Paint): string {
  const icon =
    s.status === "succeeded"
      ? paint("green", ICONS.succeeded)
      : s.status === "failed"
        ? paint("red", ICONS.failed)
        : s.status === "running"
          ? paint("cyan", ICONS.running)
          : paint("dim", ICONS[s.status]);
  const attempt = s.attempt > 0 ? `a${s.attempt}` : "";
  const end = s.finishedAt ? Date.parse(s.finishedAt) : s.status === "running" ? now.getTime() : null;
  const took = s.startedAt && end !== null ? formatElapsed(end - Date.parse(s.startedAt)) : "";
  const status = s.status.padEnd(9);
  const plainHead = `  ${ICONS[s.status]} ${s.step.padEnd(9)} ${attempt.padEnd(3)} ${status} ${took.padStart(7)}  `;
  const head = `  ${icon} ${s.step.padEnd(9)} ${attempt.padEnd(3)} ${s.status === "pending" ? paint("dim", status) : status} ${took.padStart(7)}  `;
  const room = Math.max(10, style.width - plainHead.length);
  let tail = "";
  if (s.status === "running" && s.progress) tail = progressText(s, room, paint, now);
  else if (s.status === "failed" && s.error) tail = paint("red", fit(printable(s.error), room));
  else if (s.summary && s.status === "succeeded") tail = paint("dim", fit(printable(s.summary), room));
  else if (s.status === "running") tail = paint("dim", "starting");
  return `${head}${tail}`.trimEnd();
}

function progressText(s: StepView, room: number, paint: Paint, now: Date): string {
  const p = s.progress!;
  const unit = { trial: "trials", epoch: "epochs", batch: "batches", rows: "rows" }[p.unit];
  const counts = p.total !== null ? `${p.current}/${p.total} ${unit}` : `${p.current} ${unit}`;
  const score = p.score !== null ? `  ${p.scoreLabel} ${p.score.toFixed(3)}` : "";
  // The job's estimate counts down here between its reports; its own "about ... left" is that estimate when sent.
  const eta =
    p.etaAt !== null ? `  ~${formatElapsed(Math.max(0, p.etaAt - now.getTime())) || "0.0s"} left` : "";
  const raw = p.message === null ? null : printable(p.message);
  const message = p.etaAt !== null ? raw?.replace(/, about [^,]* left$/, "") : raw;
  const note = message && p.unit !== "epoch" ? `${eta}  ${message}` : eta;
  if (p.total === null || p.total === 0) return fit(`${counts}${score}${note}`, room);
  const text = `${counts}${score}`;
  const barWidth = Math.max(6, Math.min(24, room - text.length - 2));
  return `${bar(p.current / p.total, barWidth, paint)} ${fit(text, room - barWidth - 1)}${paint("dim", fit(note, Math.max(0, room - barWidth - 1 - text.length)))}`;
}

/** Cuts plain text to `max` columns with an ellipsis. */
export function fit(text: string, max: number): string {
  if (max <= 0) return "";
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

export function bar(fraction: number, width: number, paint: Paint): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `${paint("cyan", "█".repeat(full))}${paint("dim", "░".repeat(width - full))}`;
}

export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
