// What `watch` shows: the run view folded from state and events, and the text it draws.
import { beforeAll, describe, expect, it } from "vitest";
import { makeEvent } from "../../events/codec.ts";
import { emptyView, isFinished, withEvent, withState, type RunView } from "../../cli/follow/run-view.ts";
import { renderView, formatElapsed } from "../../cli/follow/render-view.ts";
import { JsonPrinter, LivePrinter, PlainPrinter, type Terminal } from "../../cli/follow/printers.ts";
import { exitCodeForRun } from "../../cli/exit-codes.ts";
import { fixtureRun, type FixtureRun } from "../report/support/fixture-run.ts";

let run: FixtureRun;
beforeAll(async () => {
  run = await fixtureRun("blocked_bias");
});

function fold(view: RunView, count: number): RunView {
  return run.events.slice(0, count).reduce(withEvent, view);
}

function capture(isTTY = false): Terminal & { text: () => string } {
  let text = "";
  return { write: (t) => void (text += t), isTTY, columns: 120, color: false, text: () => text };
}

const NOW = new Date("2026-03-01T10:02:00Z");

describe("run view", () => {
  it("shows trials as a bar with the best validation F1 so far", () => {
    const upToSecondTrial =
      run.events.findIndex((e) => e.type === "job.progress" && e.data.current === 2) + 1;
    const view = fold({ ...emptyView(run.runId), createdAt: "2026-03-01T10:00:00.000Z" }, upToSecondTrial);
    const tune = view.steps.find((s) => s.step === "tune")!;
    expect(tune.progress).toMatchObject({
      unit: "trial",
      current: 2,
      total: 3,
      score: 0.81,
      scoreLabel: "best F1",
    });
    const line = renderView(view, NOW, { color: false, width: 120 }).find((l) => l.includes("tune"))!;
    expect(line).toMatch(/● tune {6}a1 {2}running .*█+░+ 2\/3 trials {2}best F1 0\.810/);
  });

  it("shows a trial's epoch and batch, and counts its time-left estimate down between reports", () => {
    const upToSecondTrial =
      run.events.findIndex((e) => e.type === "job.progress" && e.data.current === 2) + 1;
    const batch = makeEvent(
      "job.progress",
      { runId: run.runId, attempt: 1, time: "2026-03-01T10:01:00.000Z" },
      {
        step: "tune",
        unit: "batch",
        current: 40,
        total: 75,
        message: "trial 3 of 3: epoch 2/3, batch 40/75, about 5 min 00 s left",
        etaSeconds: 300,
      },
    );
    const view = withEvent(
      fold({ ...emptyView(run.runId), createdAt: "2026-03-01T10:00:00.000Z" }, upToSecondTrial),
      batch,
    );
    const tune = view.steps.find((s) => s.step === "tune")!;
    expect(tune.progress).toMatchObject({ unit: "batch", current: 40, total: 75, score: 0.81 });
    // NOW is a minute after the report: four minutes are left.
    const line = renderView(view, NOW, { color: false, width: 160 }).find((l) => l.includes("tune"))!;
    expect(line).toMatch(
      /40\/75 batches {2}best F1 0\.810 {2}~4m00s left {2}trial 3 of 3: epoch 2\/3, batch 40\/75$/,
    );
  });

  it("takes statuses, attempts and times from the state, and summaries from the events", () => {
    const view = withState(fold(emptyView(run.runId), run.events.length), run.state);
    expect(view.steps.map((s) => [s.step, s.status, s.attempt])).toEqual([
      ["prepare", "succeeded", 1],
      ["tune", "succeeded", 1],
      ["train", "succeeded", 2],
      ["evaluate", "succeeded", 2],
      ["register", "pending", 0],
    ]);
    const lines = renderView(view, NOW, { color: false, width: 140 });
    expect(lines[0]).toBe(`run ${run.runId}  blocked_bias`);
    expect(lines.find((l) => l.includes("evaluate"))).toContain(
      `test F1 ${run.metrics.metrics.weightedF1.toFixed(3)} on 200 rows`,
    );
    expect(lines.at(-1)).toMatch(/↳ blocked_bias: biased slice main_category=Grocery/);
    expect(isFinished(view)).toBe(true);
    expect(exitCodeForRun(view.status, view.outcome)).toBe(3);
  });

  it("follows a retrigger from the events alone: the restarted steps start over", () => {
    const retrigger = run.events.findIndex((e) => e.type === "run.retriggered");
    const view = fold(emptyView(run.runId), retrigger + 2); // the retrigger, then the first epoch of train a2
    expect(view.steps.map((s) => [s.step, s.status, s.attempt])).toEqual([
      ["prepare", "succeeded", 1],
      ["tune", "succeeded", 1],
      ["train", "running", 2],
      ["evaluate", "pending", 1],
      ["register", "pending", 0],
    ]);
    const done = fold(emptyView(run.runId), run.events.length);
    expect([done.status, done.outcome]).toEqual(["completed", "blocked_bias"]);
  });

  it("ignores progress of an attempt the run has moved past", () => {
    const view = withState(emptyView(run.runId), run.state);
    const stale = makeEvent(
      "job.progress",
      { runId: run.runId, attempt: 1 },
      { step: "train", unit: "epoch", current: 1, total: 3 },
    );
    expect(withEvent(view, stale).steps.find((s) => s.step === "train")!.progress).toBeNull();
  });

  it("prints hostile text from events and state (a retrigger reason, a job's error) without its control characters", () => {
    const hostile = "bad\x1b[2J\x1b]0;owned\x07 reason\nsecond line \u202eevil";
    const escaped = "bad\\u001b[2J\\u001b]0;owned\\u0007 reason second line \\u202eevil";
    const state = {
      ...run.state,
      trail: [...run.state.trail, { ...run.state.trail.at(-1)!, decision: hostile }],
    };
    const failed = makeEvent(
      "job.failed",
      { runId: run.runId, attempt: 9 },
      { step: "train", error: hostile, retryable: false, jobName: "sp-x-train-a9" },
    );
    const progress = makeEvent(
      "job.progress",
      { runId: run.runId, attempt: 9 },
      { step: "evaluate", unit: "batch", current: 1, total: 3, message: hostile },
    );
    const view = [progress, failed].reduce(withEvent, withState(emptyView(run.runId), state));
    const running = {
      ...view,
      steps: view.steps.map((s) => (s.step === "evaluate" ? { ...s, status: "running" as const } : s)),
    };
    const term = capture();
    const printer = new PlainPrinter(term);
    printer.update(view, [progress, failed]);
    printer.finish(view, {
      runId: run.runId,
      status: "running",
      outcome: null,
      why: hostile,
      trail: view.trail,
      took: null,
      idle: null,
      report: null,
      mlflow: null,
      exitCode: 0,
    });
    const lines = renderView(running, NOW, { color: false, width: 600 });
    const shown = [term.text(), ...lines].join("\n");
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal
    expect(shown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/u);
    expect(lines.at(-1)).toBe(`  ↳ ${escaped}`);
    expect(lines.find((l) => l.includes(" train "))).toContain(escaped);
    expect(lines.find((l) => l.includes(" evaluate "))).toContain(escaped);
    expect(term.text()).toContain("job.failed            train a9 (not retryable): bad\\u001b[2J");
    expect(term.text()).toContain(`why:    ${escaped}`);
    // The view keeps the text as it came, for `status --json` and `watch --json`: escaping is the terminal's business.
    expect(view.trail.at(-1)).toBe(hostile);
  });

  it("waits for the outbox to empty before calling a run finished", () => {
    const pending = { ...run.state, outbox: [{ kind: "cancel" as const, key: "cancel:x", jobName: "x" }] };
    expect(isFinished(withState(emptyView(run.runId), pending))).toBe(false);
  });

  it("formats elapsed time as a person reads it", () => {
    expect([formatElapsed(4_200), formatElapsed(125_000), formatElapsed(3_725_000)]).toEqual([
      "4.2s",
      "2m05s",
      "1h02m",
    ]);
  });
});

describe("printers", () => {
  const summary = {
    runId: "r-1",
    status: "completed" as const,
    outcome: "blocked_bias" as const,
    why: "biased",
    trail: [],
    took: "4m02s",
    idle: null,
    report: "/x/report.html",
    mlflow: null,
    exitCode: 3,
  };

  it("plain output: one line per event, no terminal codes", () => {
    const term = capture();
    const printer = new PlainPrinter(term);
    const view = withState(emptyView(run.runId), run.state);
    printer.update(view, run.events);
    printer.finish(view, summary);
    expect(term.text()).not.toContain("\x1b[");
    expect(term.text()).toMatch(/^ +0\.0s {2}run\.started /m);
    expect(term.text()).toMatch(/tune a1 2\/3 trials done {2}trial 2$/m);
    expect(term.text()).toContain("report: /x/report.html");
  });

  it("live output redraws the step block in place and prints events above it", () => {
    const term = capture(true);
    const printer = new LivePrinter(term);
    const view = withState(emptyView(run.runId), run.state);
    printer.update(view, run.events.slice(0, 3));
    printer.update(view, run.events.slice(3, 5));
    printer.finish(view, summary);
    const text = term.text();
    expect(text).toContain("\x1b[7F\x1b[J"); // back up over the 7-line block, clear, redraw
    expect(text).not.toContain("job.progress");
    expect(text.trimEnd().split("\n").at(-1)).toBe("  report: /x/report.html");
  });

  it("JSON output: every event, then the result, one object per line", () => {
    const term = capture();
    const printer = new JsonPrinter(term);
    printer.update(emptyView(run.runId), run.events);
    printer.finish(emptyView(run.runId), summary);
    const lines = term
      .text()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string });
    expect(lines).toHaveLength(run.events.length + 1);
    expect(lines.at(-1)).toMatchObject({ kind: "result", outcome: "blocked_bias", exitCode: 3 });
  });
});
