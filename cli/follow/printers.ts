// How a followed run reaches the terminal: a live redrawn block on a TTY, one line per event otherwise, or JSON lines.
import type { PipelineEvent } from "../../events/catalogue.ts";
import { describeEvent, printable } from "../../emulator/describe-event.ts";
import { painter, renderView, formatElapsed } from "./render-view.ts";
import type { RunView } from "./run-view.ts";

export interface RunSummary {
  runId: string;
  status: RunView["status"];
  outcome: RunView["outcome"];
  /** The decision that ended the run, in the pipeline's words. */
  why: string | null;
  trail: string[];
  took: string | null;
  /** Time the run sat completed before a retrigger, not counted in `took`; null when none. */
  idle: string | null;
  report: string | null;
  mlflow: string | null;
  exitCode: number;
}

export interface Printer {
  update(view: RunView, newEvents: PipelineEvent[]): void;
  /** A line that is not an event (a warning, where logs go). */
  note(line: string): void;
  finish(view: RunView, summary: RunSummary): void;
}

export interface Terminal {
  write(text: string): void;
  isTTY: boolean;
  columns: number;
  color: boolean;
}

export function terminalOf(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Terminal {
  const isTTY = stream.isTTY === true;
  return {
    write: (text) => void stream.write(text),
    isTTY,
    columns: stream.columns || 100,
    color: isTTY && env.NO_COLOR === undefined && env.TERM !== "dumb",
  };
}

export function printerFor(mode: "live" | "plain" | "json", term: Terminal): Printer {
  if (mode === "json") return new JsonPrinter(term);
  if (mode === "live") return new LivePrinter(term);
  return new PlainPrinter(term);
}

/** One human line per event with the time since the run started; progress lines too, but never twice the same. */
export class PlainPrinter implements Printer {
  private started: number | null = null;
  constructor(private readonly term: Terminal) {}

  update(view: RunView, newEvents: PipelineEvent[]): void {
    this.started ??= view.createdAt ? Date.parse(view.createdAt) : null;
    for (const e of newEvents) {
      const line = describeEvent(e);
      if (!line) continue;
      const at = this.started !== null ? formatElapsed(Date.parse(e.time) - this.started).padStart(7) : "";
      this.term.write(`${at}  ${line.trimStart()}\n`);
    }
  }

  note(line: string): void {
    this.term.write(`${line}\n`);
  }

  finish(_view: RunView, summary: RunSummary): void {
    this.term.write(summaryLines(summary, false).join("\n") + "\n");
  }
}

/** Events scroll by above; the step list with its progress bars is redrawn in place below them. */
export class LivePrinter implements Printer {
  private drawn = 0;
  private view: RunView | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly paint;

  constructor(private readonly term: Terminal) {
    this.paint = painter(term.color);
    // Elapsed times tick even when nothing happens.
    this.timer = setInterval(() => this.redraw([]), 500);
    this.timer.unref();
  }

  update(view: RunView, newEvents: PipelineEvent[]): void {
    this.view = view;
    this.redraw(newEvents.filter((e) => e.type !== "job.progress"));
  }

  note(line: string): void {
    this.redraw([], [line]);
  }

  finish(view: RunView, summary: RunSummary): void {
    clearInterval(this.timer);
    this.view = view;
    this.redraw([]);
    this.drawn = 0;
    this.term.write("\n" + summaryLines(summary, this.term.color).join("\n") + "\n");
  }

  private redraw(events: PipelineEvent[], notes: string[] = []): void {
    let out = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : "";
    const started = this.view?.createdAt ? Date.parse(this.view.createdAt) : null;
    for (const e of events) {
      const line = describeEvent(e);
      if (!line) continue;
      const at = started !== null ? formatElapsed(Date.parse(e.time) - started).padStart(7) : "";
      out += `${this.paint("dim", at)}  ${line.trimStart()}\n`;
    }
    for (const n of notes) out += `${n}\n`;
    if (this.view) {
      const block = renderView(this.view, new Date(), {
        color: this.term.color,
        width: this.term.columns - 1,
      });
      out += block.join("\n") + "\n";
      this.drawn = block.length;
    }
    this.term.write(out);
  }
}

/** One JSON object per line: every event as it comes, then the result. */
export class JsonPrinter implements Printer {
  constructor(private readonly term: Terminal) {}
  update(_view: RunView, newEvents: PipelineEvent[]): void {
    for (const e of newEvents) this.term.write(`${JSON.stringify({ kind: "event", event: e })}\n`);
  }
  note(): void {
    /* JSON output carries data only; notes go to the log file */
  }
  finish(_view: RunView, summary: RunSummary): void {
    this.term.write(`${JSON.stringify({ kind: "result", ...summary })}\n`);
  }
}

export function summaryLines(s: RunSummary, color: boolean): string[] {
  const paint = painter(color);
  const outcome =
    s.status === "completed"
      ? paint(s.outcome === "promoted" ? "green" : s.outcome === "failed" ? "red" : "yellow", s.outcome ?? "")
      : s.status;
  const lines = [
    `${paint("bold", `run ${s.runId}`)}: ${outcome}${s.took ? ` after ${s.took}` : ""}${s.idle ? ` of work (+ ${s.idle} idle before a retrigger)` : ""}`,
  ];
  if (s.why) lines.push(`  why:    ${printable(s.why)}`);
  if (s.report) lines.push(`  report: ${s.report}`);
  if (s.mlflow) lines.push(`  mlflow: ${s.mlflow}`);
  return lines;
}
