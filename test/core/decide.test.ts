// Table-driven tests of the decision core: every edge of the event chain, the rules and the loop guards.
import { describe, expect, it } from "vitest";
import { decide, type Decision } from "../../functions/core/decide.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineConfigInput } from "../../schemas/config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { buildJobSpec, jobInputFor } from "../../gpu-jobs/specs/build-job-spec.ts";
import { argsToInput } from "../../gpu-jobs/specs/job-args.ts";
import * as ev from "../support/events.ts";

const OTHER_PARAMS = { ...ev.PARAMS, learningRate: ev.PARAMS.learningRate * 2 };
const config = (overrides: PipelineConfigInput = {}) => parseConfig(overrides);
const DEFAULT = config();

/** Applies events in order; every one must be applied unless listed as expected to be ignored. */
function run(
  events: PipelineEvent[],
  cfg = DEFAULT,
  start: RunState | null = null,
): { state: RunState; decisions: Decision[] } {
  let state = start;
  const decisions: Decision[] = [];
  for (const e of events) {
    const d = decide(state, e, cfg);
    decisions.push(d);
    if (d.kind === "applied") state = d.state;
  }
  if (!state) throw new Error("no state");
  return { state, decisions };
}

const upToEvaluation = () => [
  ev.runStarted(),
  ev.dataPrepared(),
  ev.tuningCompleted(),
  ev.trainingCompleted(),
];
const applied = (d: Decision | undefined) => {
  if (d?.kind !== "applied") throw new Error(`expected applied, got ${JSON.stringify(d)}`);
  return d;
};
const launches = (d: Decision) =>
  applied(d)
    .effects.filter((e) => e.kind === "launch")
    .map((e) => `${e.step}:a${e.attempt}`);
const published = (d: Decision) =>
  applied(d)
    .effects.filter((e) => e.kind === "publish")
    .map((e) => e.event as { type: string; data: Record<string, unknown> });

describe("decide: the happy path", () => {
  it("creates the run on run.started and launches prepare attempt 1", () => {
    const d = applied(decide(null, ev.runStarted(), DEFAULT));
    expect(d.state.status).toBe("running");
    expect(d.state.currentStep).toBe("prepare");
    expect(launches(d)).toEqual(["prepare:a1"]);
    expect(d.state.steps.prepare).toMatchObject({
      status: "running",
      attempt: 1,
      jobName: `sp-${ev.RUN}-prepare-a1`,
    });
  });

  it.each([
    ["data.prepared", 1, "tune:a1"],
    ["tuning.completed", 2, "train:a1"],
    ["training.completed", 3, "evaluate:a1"],
  ] as const)("moves on after %s by launching the next step", (_type, n, next) => {
    const { decisions } = run(upToEvaluation().slice(0, n + 1));
    expect(launches(decisions[n]!)).toEqual([next]);
  });

  it("registers a passing model and completes as promoted once it is registered", () => {
    const { state, decisions } = run([...upToEvaluation(), ev.evaluationCompleted(1)]);
    const reg = applied(decisions.at(-1)).effects;
    expect(reg).toEqual([{ kind: "register", key: "register:a1", attempt: 1 }]);
    expect(state.currentStep).toBe("register");
    const done = applied(decide(state, ev.modelRegistered(1), DEFAULT));
    expect(done.state).toMatchObject({ status: "completed", outcome: "promoted" });
    expect(done.state.artifacts.registration?.version).toBe("1");
    const completed = published(done).find((p) => p.type === "run.completed")!;
    expect(completed.data.outcome).toBe("promoted");
    expect(completed.data.reasons).toEqual(done.state.trail.map((t) => t.decision));
  });
});

describe("decide: delivery semantics", () => {
  it("ignores a duplicate of an event already applied", () => {
    const prepared = ev.dataPrepared();
    const { state } = run([ev.runStarted(), prepared]);
    expect(decide(state, prepared, DEFAULT)).toEqual({
      kind: "ignored",
      reason: `duplicate event ${prepared.id}`,
    });
  });

  it("ignores a second run.started for an existing run", () => {
    const { state } = run([ev.runStarted()]);
    expect(decide(state, { ...ev.runStarted(), id: "another-start-id" }, DEFAULT).kind).toBe("ignored");
  });

  it("ignores an event of an older step attempt", () => {
    const { state } = run([ev.runStarted(), ev.jobFailed("prepare", 1)]);
    expect(state.steps.prepare.attempt).toBe(2);
    const d = decide(state, ev.dataPrepared(1), DEFAULT);
    expect(d).toMatchObject({ kind: "ignored", reason: "prepare attempt 1 is not the current attempt 2" });
  });

  it("ignores an evaluation event from an older attempt after a retune", () => {
    const { state } = run([...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.5 })]);
    expect(decide(state, ev.evaluationCompleted(1, { weightedF1: 0.9 }), DEFAULT).kind).toBe("ignored");
  });

  it("ignores a completion of a step that is not running", () => {
    const { state } = run([ev.runStarted()]);
    expect(decide(state, ev.tuningCompleted(1), DEFAULT)).toMatchObject({
      kind: "ignored",
      reason: "tune attempt 1 is not the current attempt 0",
    });
  });

  it("ignores events for a run it does not know, and rejects a retrigger of one", () => {
    expect(decide(null, ev.dataPrepared(), DEFAULT).kind).toBe("ignored");
    expect(decide(null, ev.retriggerRequested("train"), DEFAULT)).toEqual({
      kind: "rejected",
      reason: `unknown run ${ev.RUN}`,
    });
  });

  it("ignores anything but a retrigger once the run has completed", () => {
    const { state } = run([ev.runStarted(), ev.jobFailed("prepare", 1, false)]);
    expect(state.status).toBe("completed");
    expect(decide(state, ev.dataPrepared(1), DEFAULT).kind).toBe("ignored");
  });
});

describe("decide: the F1 gate", () => {
  it("re-runs tuning when weighted F1 is below f1Min and the retune budget is left", () => {
    const { state, decisions } = run([...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.59 })]);
    expect(launches(decisions.at(-1)!)).toEqual(["tune:a2"]);
    expect(state.budgets.retunesUsed).toBe(1);
    expect(state.artifacts.tuning).toBeNull();
    expect(state.artifacts.training).toBeNull();
    expect(state.steps.train).toMatchObject({ status: "pending", attempt: 1 });
    const retriggered = published(decisions.at(-1)!).find((p) => p.type === "run.retriggered")!;
    expect(retriggered.data).toMatchObject({ from: "tune", reason: "low_f1" });
  });

  it("passes a weighted F1 exactly at f1Min (the gate is strictly below)", () => {
    const { decisions } = run([...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.6 })]);
    expect(applied(decisions.at(-1)).effects.map((e) => e.kind)).toEqual(["register"]);
  });

  it("completes as below_threshold when the retune budget is spent", () => {
    const events = [
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.5 }),
      ev.tuningCompleted(2, ev.RUN, undefined, OTHER_PARAMS, 0.9),
      ev.trainingCompleted(2),
      ev.evaluationCompleted(2, { weightedF1: 0.55 }),
    ];
    const { state } = run(events);
    expect(state).toMatchObject({ status: "completed", outcome: "below_threshold" });
    expect(state.trail.at(-1)!.decision).toContain("retune budget (1) is spent");
  });

  it("trains the parameters a retune finds when they differ from the ones already trained", () => {
    const { state, decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.5 }),
      ev.tuningCompleted(2, ev.RUN, undefined, OTHER_PARAMS, 0.9),
    ]);
    expect(launches(decisions.at(-1)!)).toEqual(["train:a2"]);
    expect(jobInputFor(DEFAULT, state, "train", 2)).toMatchObject({ seed: 42 });
  });

  it("ends below threshold, saying so, when a retune finds no better parameters than the ones already trained", () => {
    const { state, decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.5 }),
      ev.tuningCompleted(2),
    ]);
    expect(launches(decisions.at(-1)!)).toEqual([]);
    expect(state).toMatchObject({ status: "completed", outcome: "below_threshold" });
    expect(state.steps.train).toMatchObject({ status: "pending", attempt: 1 });
    const last = state.trail.at(-1)!.decision;
    expect(last).toContain("found no better parameters than the ones already trained");
    expect(last).toContain("not re-training the same parameters with the same seed 42");
    const completed = published(decisions.at(-1)!).find((p) => p.type === "run.completed")!;
    expect(completed.data).toMatchObject({ outcome: "below_threshold" });
  });

  it("re-trains the same parameters with a new seed when training.reseedOnRetune asks for it", () => {
    const cfg = config({ training: { reseedOnRetune: true } });
    const { state, decisions } = run(
      [...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.5 }), ev.tuningCompleted(2)],
      cfg,
    );
    expect(launches(decisions.at(-1)!)).toEqual(["train:a2"]);
    expect(state.trail.at(-1)!.decision).toContain("re-training them with a new seed 43");
    expect(jobInputFor(cfg, state, "train", 2)).toMatchObject({ seed: 43, params: ev.PARAMS });
  });

  it("ends below threshold when a retune's best trial, with other parameters, scores no higher on validation", () => {
    // A Vertex tuning job searches afresh: its best rarely repeats the trained values, but may be no better.
    const { state, decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.5 }),
      ev.tuningCompleted(2, ev.RUN, undefined, OTHER_PARAMS, 0.88),
    ]);
    expect(launches(decisions.at(-1)!)).toEqual([]);
    expect(state).toMatchObject({ status: "completed", outcome: "below_threshold" });
    const last = state.trail.at(-1)!.decision;
    expect(last).toContain("found no better parameters: its best (");
    expect(last).toContain(
      "scored validation weighted F1 0.880, no higher than the 0.880 of the model already trained",
    );
    expect(last).toContain("not training a model no better than the last");
  });

  it("trains a no-higher best with a new seed when training.reseedOnRetune asks for it", () => {
    const cfg = config({ training: { reseedOnRetune: true } });
    const { state, decisions } = run(
      [
        ...upToEvaluation(),
        ev.evaluationCompleted(1, { weightedF1: 0.5 }),
        ev.tuningCompleted(2, ev.RUN, undefined, OTHER_PARAMS, 0.7),
      ],
      cfg,
    );
    expect(launches(decisions.at(-1)!)).toEqual(["train:a2"]);
    expect(state.trail.at(-1)!.decision).toContain("training its best with a new seed 43");
    expect(jobInputFor(cfg, state, "train", 2)).toMatchObject({ seed: 43, params: OTHER_PARAMS });
  });

  it("honours a retune budget of zero", () => {
    const { state } = run(
      [...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.5 })],
      config({ budgets: { retune: 0 } }),
    );
    expect(state.outcome).toBe("below_threshold");
  });

  it("checks the F1 gate before the bias rule", () => {
    const slices = [ev.slice("main_category", "Books", 0.1, 0.5, null, 0.5)];
    const { decisions } = run([...upToEvaluation(), ev.evaluationCompleted(1, { weightedF1: 0.5, slices })]);
    expect(launches(decisions.at(-1)!)).toEqual(["tune:a2"]);
  });
});

describe("decide: the bias rule", () => {
  const at = (
    f1: number,
    share: number,
    value = "Books",
    interval: [number, number] | null = null,
    overall = 0.8,
  ) => ev.slice("main_category", value, f1, share, interval, overall);

  it.each([
    ["share exactly 10% and F1 under 90% of overall", at(0.7, 0.1), 0.8, true],
    ["share just under 10%", at(0.7, 0.0999), 0.8, false],
    // 0.9 * 0.75 is exactly 0.675 in binary floating point, so this is the boundary itself.
    ["F1 exactly 90% of overall (the rule is strict)", at(0.675, 0.5, "Books", null, 0.75), 0.75, false],
    ["F1 just under 90% of overall", at(0.6749, 0.5, "Books", null, 0.75), 0.75, true],
    ["the overall row, however bad", at(0.1, 1, "overall"), 0.8, false],
  ])("judges a slice with %s as biased: %s", (_name, s, overall, biased) => {
    const { decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: overall, slices: [s] }),
    ]);
    expect(applied(decisions.at(-1)).effects.map((e) => e.kind)).toEqual(
      biased ? ["publish", "launch"] : ["register"],
    );
  });

  it("hands a mitigation plan with the biased slices and their weights to the re-training", () => {
    const slices = [
      at(0.4, 0.2),
      ev.slice("year", "2019", 0.7, 0.3, null, 0.8),
      ev.slice("year", "2020", 0.8, 0.5, null, 0.8),
    ];
    const { state, decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.8, slices }),
    ]);
    expect(launches(decisions.at(-1)!)).toEqual(["train:a2"]);
    expect(state.mitigation).toEqual({
      method: "reweight",
      fromEvaluationAttempt: 1,
      slices: [
        // clamp(2 * 0.8 / 0.4, 2, 5) = 4; clamp(2 * 0.8 / 0.7, 2, 5) = 2.2857
        { column: "main_category", value: "Books", weight: 4, f1: 0.4, ratio: 0.5 },
        { column: "year", value: "2019", weight: 2.2857, f1: 0.7, ratio: 0.7 / 0.8 },
      ],
    });
    const trainInput = argsToInput("train", buildJobSpec(DEFAULT, state, "train", 2).args.slice(1));
    expect(trainInput.mitigation).toEqual(state.mitigation);
    expect(state.artifacts.tuning).not.toBeNull();
    expect(published(decisions.at(-1)!).find((p) => p.type === "run.retriggered")!.data).toMatchObject({
      from: "train",
      reason: "bias",
    });
  });

  it("hands the evaluate job the ONNX export serving loads, unless the config names one", () => {
    const { state } = run(upToEvaluation());
    const onnx = (cfg: PipelineConfigInput) =>
      argsToInput("evaluate", buildJobSpec(config(cfg), state, "evaluate", 1).args.slice(1)).evaluation.onnx;
    expect(onnx({})).toBe("int8");
    expect(onnx({ serving: { quantized: false } })).toBe("fp32");
    expect(onnx({ serving: { quantized: false }, evaluation: { onnx: "int8" } })).toBe("int8");
    expect(onnx({ evaluation: { onnx: "fp32" } })).toBe("fp32");
  });

  it("completes as blocked_bias when the mitigated model is still biased and the budget is spent", () => {
    const biased = { weightedF1: 0.8, slices: [at(0.4, 0.2)] };
    const { state } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, biased),
      ev.trainingCompleted(2),
      ev.evaluationCompleted(2, biased),
    ]);
    expect(state).toMatchObject({ status: "completed", outcome: "blocked_bias" });
    expect(state.trail.at(-1)!.decision).toMatch(/main_category=Books .*mitigation budget \(1\) is spent/);
  });

  it("promotes once a mitigated re-training removes the bias", () => {
    const { state } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [at(0.4, 0.2)] }),
      ev.trainingCompleted(2),
      ev.evaluationCompleted(2, { weightedF1: 0.8, slices: [at(0.78, 0.2)] }),
      ev.modelRegistered(1),
    ]);
    expect(state.outcome).toBe("promoted");
    expect(state.trail.map((t) => t.decision).join("\n")).toMatch(/mitigated re-training 1 of 1/);
  });

  it("with requireSignificance, passes a gap whose interval reaches the threshold and mitigates one wholly below it", () => {
    const cfg = config({ rules: { requireSignificance: true } });
    const noisy = run(
      [
        ...upToEvaluation(),
        ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [at(0.6, 0.2, "Books", [0.5, 0.95])] }),
      ],
      cfg,
    );
    expect(applied(noisy.decisions.at(-1)).effects.map((e) => e.kind)).toEqual(["register"]);
    const real = run(
      [
        ...upToEvaluation(),
        ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [at(0.6, 0.2, "Books", [0.6, 0.85])] }),
      ],
      cfg,
    );
    expect(launches(real.decisions.at(-1)!)).toEqual(["train:a2"]);
  });
});

describe("decide: slices that could not be judged", () => {
  // 29 categories of ~3% each and 3 years of a third each, as on the real sample's test split (1,000 rows here).
  const categories = Array.from({ length: 29 }, (_, i) => ev.slice("main_category", `C${i}`, 0.9, 0.034));
  const years = ["2020", "2021", "2022"].map((y) => ev.slice("year", y, 0.85, 0.33));
  const trailOf = (state: RunState) => state.trail.map((t) => t.decision);

  it("records in the trail that no slice could be judged, and does not call the bias check passed", () => {
    const small = ev.slice("year", "2014", 0.85, 0.05);
    const { state, decisions } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [small, ...categories] }),
    ]);
    expect(applied(decisions.at(-1)).effects.map((e) => e.kind)).toEqual(["register"]);
    const trail = trailOf(state);
    expect(trail.at(-2)).toMatch(
      /^bias check: no slice could be judged \(year: 1 value, the largest \(2014\) holds 50 of 1000 test rows \(5%\); main_category: 29 values, .* a slice is judged from 10% of the test rows \(minSliceRows unset\)\)$/,
    );
    expect(trail.at(-1)).toMatch(
      /no slice could be judged for bias, first of its line bert-base-uncased-3class \(no champion yet\); registering$/,
    );
    expect(trail.join("\n")).not.toMatch(/no biased slice/);
    expect(state.artifacts.evaluation).toMatchObject({
      judgedSlices: 0,
      unjudgedColumns: ["year", "main_category"],
    });
  });

  it("names the column that could not be judged when another was", () => {
    const { state } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [...years, ...categories] }),
    ]);
    expect(trailOf(state).at(-2)).toMatch(
      /^bias check: no main_category slice could be judged \(main_category: 29/,
    );
    expect(trailOf(state).at(-1)).toMatch(
      /no biased slice among 3 judged \(no main_category slice could be judged\), first of its line \S+ \(no champion yet\)/,
    );
    expect(state.artifacts.evaluation?.unjudgedColumns).toEqual(["main_category"]);
  });

  it("judges them under minSliceRows, and then the trail has no caveat", () => {
    const { state } = run(
      [
        ...upToEvaluation(),
        ev.evaluationCompleted(1, { weightedF1: 0.8, slices: [...years, ...categories] }),
      ],
      config({ rules: { minSliceRows: 30 } }),
    );
    expect(trailOf(state).join("\n")).not.toMatch(/could be judged/);
    expect(trailOf(state).at(-1)).toMatch(
      /no biased slice among 32 judged, first of its line \S+ \(no champion yet\)/,
    );
    expect(state.artifacts.evaluation).toMatchObject({ judgedSlices: 32, unjudgedColumns: [] });
  });
});

describe("decide: the champion", () => {
  it.each([
    ["worse than the champion", 0.79, 0, "not_better"],
    ["equal to the champion", 0.8, 0, "register"],
    ["worse but within the tolerance", 0.79, 0.02, "register"],
  ])("a challenger %s ends as %s", (_name, f1, tolerance, expected) => {
    const cfg = config({ rules: { championTolerance: tolerance } });
    const { state, decisions } = run(
      [
        ...upToEvaluation(),
        ev.evaluationCompleted(1, { weightedF1: f1, champion: { version: "3", weightedF1: 0.8 } }),
      ],
      cfg,
    );
    if (expected === "register")
      expect(applied(decisions.at(-1)).effects.map((e) => e.kind)).toEqual(["register"]);
    else {
      expect(state.outcome).toBe(expected);
      expect(state.trail.at(-1)!.decision).toContain("champion 3");
    }
  });
});

describe("decide: job failures", () => {
  it("retries a failed job once, then fails the run (2 attempts per job)", () => {
    const first = run([ev.runStarted(), ev.dataPrepared(), ev.jobFailed("tune", 1)]);
    expect(launches(first.decisions.at(-1)!)).toEqual(["tune:a2"]);
    expect(first.state.steps.tune).toMatchObject({ attempt: 2, failuresInRow: 1, status: "running" });
    const second = applied(decide(first.state, ev.jobFailed("tune", 2), DEFAULT));
    expect(second.state).toMatchObject({ status: "completed", outcome: "failed" });
    expect(second.state.trail.at(-1)!.decision).toContain("tune failed 2 times in a row");
  });

  it("fails the run at once on a failure that cannot be retried", () => {
    const { state } = run([ev.runStarted(), ev.jobFailed("prepare", 1, false)]);
    expect(state).toMatchObject({ status: "completed", outcome: "failed" });
    expect(state.trail.at(-1)!.decision).toContain("cannot be retried");
  });

  it("counts failures in a row per step: a success resets the count", () => {
    const { state } = run([
      ev.runStarted(),
      ev.jobFailed("prepare", 1),
      ev.dataPrepared(2),
      ev.jobFailed("tune", 1),
    ]);
    expect(state.steps.prepare.failuresInRow).toBe(0);
    expect(state.steps.tune).toMatchObject({ attempt: 2, status: "running" });
  });

  it("runs a retried tuning on demand after a Spot preemption", () => {
    const { state } = run([ev.runStarted(), ev.dataPrepared(), ev.jobFailed("tune", 1)]);
    expect(DEFAULT.machines.tune.spot).toBe(true);
    expect(buildJobSpec(DEFAULT, state, "tune", 2).machine.spot).toBe(false);
  });
});

describe("decide: manual retrigger", () => {
  it("restarts a completed run from a step, recording who asked and why", () => {
    const done = run([...upToEvaluation(), ev.evaluationCompleted(1), ev.modelRegistered(1)]).state;
    const d = applied(decide(done, ev.retriggerRequested("train", "new tokenizer"), DEFAULT));
    expect(d.state).toMatchObject({ status: "running", outcome: null, currentStep: "train" });
    expect(launches(d)).toEqual(["train:a2"]);
    expect(d.state.budgets.manualRetriggersUsed).toBe(1);
    expect(d.state.artifacts.evaluation).toBeNull();
    expect(d.state.trail.at(-1)!.decision).toContain(
      "manual retrigger from train by ana@example.com: new tokenizer",
    );
    expect(published(d)[0]!.data).toMatchObject({ from: "train", reason: "manual" });
  });

  it("cancels the job that is running when a run is restarted from an earlier step", () => {
    const { state } = run([ev.runStarted(), ev.dataPrepared(), ev.tuningCompleted()]);
    const d = applied(decide(state, ev.retriggerRequested("tune"), DEFAULT));
    expect(d.effects.map((e) => e.key)).toEqual([
      `cancel:sp-${ev.RUN}-train-a1`,
      expect.stringMatching(/^publish:/),
      "launch:tune:a2",
    ]);
    expect(decide(d.state, ev.trainingCompleted(1), DEFAULT).kind).toBe("ignored");
  });

  it("rejects a restart whose step lacks what it needs", () => {
    const { state } = run([ev.runStarted()]);
    expect(decide(state, ev.retriggerRequested("evaluate"), DEFAULT)).toEqual({
      kind: "rejected",
      reason: `cannot restart ${ev.RUN} from evaluate: the run has no prepared data`,
    });
    expect(decide(state, ev.retriggerRequested("register"), DEFAULT).kind).toBe("rejected");
  });

  it("rejects restarts once the manual budget is spent", () => {
    const cfg = config({ budgets: { manualRetriggers: 1 } });
    const { state } = run([ev.runStarted(), ev.retriggerRequested("prepare")], cfg);
    expect(decide(state, ev.retriggerRequested("prepare"), cfg)).toMatchObject({
      kind: "rejected",
      reason: expect.stringContaining("budget (1) is spent"),
    });
  });

  it("can restart from register, re-registering the evaluated model", () => {
    const done = run([...upToEvaluation(), ev.evaluationCompleted(1), ev.modelRegistered(1)]).state;
    const d = applied(decide(done, ev.retriggerRequested("register"), DEFAULT));
    expect(d.effects.map((e) => e.kind)).toEqual(["publish", "register"]);
    expect(d.state.steps.register.attempt).toBe(2);
  });

  it("keeps retune and mitigation counters across a manual restart (no budget reset by restarting)", () => {
    const { state } = run([
      ...upToEvaluation(),
      ev.evaluationCompleted(1, { weightedF1: 0.5 }),
      ev.retriggerRequested("tune"),
    ]);
    expect(state.budgets).toEqual({ retunesUsed: 1, mitigationsUsed: 0, manualRetriggersUsed: 1 });
  });
});

describe("decide: purity", () => {
  it("does not modify the state it is given", () => {
    const { state } = run([ev.runStarted()]);
    const before = structuredClone(state);
    decide(state, ev.dataPrepared(), DEFAULT);
    expect(state).toEqual(before);
  });

  it("gives the same decision for the same inputs, emitted event ids included", () => {
    const { state } = run(upToEvaluation());
    const e = ev.evaluationCompleted(1, { weightedF1: 0.4 });
    expect(decide(state, e, DEFAULT)).toEqual(decide(state, e, DEFAULT));
  });
});
