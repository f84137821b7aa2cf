// What a run leaves in the experiment tracker: its model line's experiment, a parent run per pipeline run with the
// decisions as tags, and an evaluation run per attempt nested under it.
import { beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import { makeEvent, encodeEvent } from "../../events/codec.ts";
import { PipelineEvent } from "../../events/catalogue.ts";
import { decide } from "../../functions/core/decide.ts";
import { makeTrackRun } from "../../functions/track-run.ts";
import { trackEvent } from "../../tracking/run-tracking.ts";
import { MlflowRestTracker } from "../../tracking/mlflow-rest-tracker.ts";
import { familyExperiments, runTrackingLine, sliceKeys, sliceMetricKey } from "../../schemas/mlflow-names.ts";
import { mlflowLocationUri } from "../../tracking/pipeline-run.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { renderRunReport } from "../../report/render-report.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters } from "../support/fakes.ts";
import { pubsubPush } from "../support/cloud-events.ts";
import { fixtureRun, TRICKY_CATEGORY, type FixtureRun } from "../report/support/fixture-run.ts";
import { MemoryTracker } from "./support/memory-tracker.ts";

/** The memory tracker behind an http address, as a real server has. */
class HttpTracker extends MemoryTracker {
  override readonly uri = "http://mlflow.test:5000";
}

let run: FixtureRun;
beforeAll(async () => {
  run = await fixtureRun("blocked_bias");
});

async function track(tracker: MemoryTracker, events: PipelineEvent[], f: FixtureRun = run) {
  const log = new CapturingLogger();
  for (const e of events)
    await trackEvent({ tracker, store: f.store, ledger: f.ledger, config: f.config, log }, e);
  return log;
}

describe("run tracking", () => {
  it("records a pipeline run as a parent run in its model line's experiment, an evaluation run per attempt under it", async () => {
    const tracker = new MemoryTracker();
    await track(tracker, run.events);
    const line = (await run.ledger.get(run.runId))!.state.modelLine!;
    expect(line).toBe("roberta-base-3class");
    expect(tracker.experiments.map((e) => e.name)).toEqual([`sentiment-pipeline/${line}`]);
    expect(tracker.experiments[0]!.tags).toMatchObject({ model_line: line });
    const parents = tracker.runs.filter((r) => r.tags.step === "pipeline");
    expect(parents.map((r) => [r.name, r.tags.run_id, r.tags.input, r.status])).toEqual([
      [run.runId, run.runId, run.stats.input, "FINISHED"],
    ]);
    const evaluations = tracker.runs.filter((r) => r.tags.step === "evaluate");
    expect(evaluations.map((r) => [r.name, r.tags.attempt, r.status, r.tags["mlflow.parentRunId"]])).toEqual([
      ["evaluation-a1", "1", "FINISHED", parents[0]!.runId],
      ["evaluation-a2", "2", "FINISHED", parents[0]!.runId],
    ]);
    // The parent run carries the last evaluation's scores, to compare pipeline runs in the experiment's table.
    expect(parents[0]!.metrics.test_weighted_f1).toBe(run.metrics.metrics.weightedF1);
  });

  it("keeps one experiment per model line: a search across base models leaves its records with each family's line", async () => {
    // As it happens: until training completes the run has no line of its own, and starts under the line of the
    // search's first family (bert); its model is a roberta, so its evaluations and outcome go to roberta's line.
    const final = (await run.ledger.get(run.runId))!;
    let trained = false;
    const ledger = {
      get: async (id: string) =>
        id === run.runId
          ? { ...final, state: trained ? final.state : { ...final.state, modelLine: null } }
          : run.ledger.get(id),
    } as unknown as FixtureRun["ledger"];
    const tracker = new MemoryTracker();
    const log = new CapturingLogger();
    for (const e of run.events) {
      if (e.type === "training.completed") trained = true;
      await trackEvent({ tracker, store: run.store, ledger, config: run.config, log }, e);
    }
    expect(tracker.experiments.map((e) => [e.name, e.tags.model_line])).toEqual([
      ["sentiment-pipeline/bert-base-uncased-3class", "bert-base-uncased-3class"],
      ["sentiment-pipeline/roberta-base-3class", "roberta-base-3class"],
    ]);
    const [bert, roberta] = tracker.experiments;
    const parentIn = (id: string) =>
      tracker.runs.filter((r) => r.experimentId === id && r.tags.step === "pipeline");
    expect(parentIn(bert!.experimentId)).toHaveLength(1);
    expect(parentIn(roberta!.experimentId)).toHaveLength(1);
    const home = parentIn(roberta!.experimentId)[0]!;
    const away = parentIn(bert!.experimentId)[0]!;
    // Every evaluation in the line of the model it evaluated; both parents end with the run and carry its outcome.
    for (const e of tracker.runs.filter((r) => r.tags.step === "evaluate")) {
      expect(e.experimentId).toBe(roberta!.experimentId);
      expect(e.tags["mlflow.parentRunId"]).toBe(home.runId);
    }
    expect([home.status, away.status]).toEqual(["FINISHED", "FINISHED"]);
    expect(away.tags).toMatchObject({ outcome: "blocked_bias", run_experiment: roberta!.name });
    expect(home.tags).toMatchObject({ outcome: "blocked_bias", model_line: "roberta-base-3class" });
    // The report's link opens the run where its model is.
    const location = JSON.parse(
      (await run.store.read(mlflowLocationUri(run.store.bucket, run.runId))).toString(),
    );
    expect(location).toMatchObject({ experimentName: roberta!.name, parentRunId: home.runId });
    // The trainer is told each family's experiment.
    expect(familyExperiments(run.config)).toEqual({
      bert: "sentiment-pipeline/bert-base-uncased-3class",
      roberta: "sentiment-pipeline/roberta-base-3class",
    });
    expect(familyExperiments(run.config, "books-3class")).toEqual({
      bert: "sentiment-pipeline/books-3class",
      roberta: "sentiment-pipeline/books-3class",
    });
  });

  it("puts pipeline runs of one line in one experiment, each with its own parent", async () => {
    const tracker = new MemoryTracker();
    const other = await fixtureRun("promoted");
    await track(tracker, run.events);
    await track(tracker, other.events, other);
    expect(tracker.experiments).toHaveLength(1);
    const parents = tracker.runs.filter((r) => r.tags.step === "pipeline");
    expect(parents.map((r) => r.tags.run_id).sort()).toEqual([run.runId, other.runId].sort());
    for (const e of tracker.runs.filter((r) => r.tags.step === "evaluate"))
      expect(e.tags["mlflow.parentRunId"]).toBe(parents.find((p) => p.tags.run_id === e.tags.run_id)!.runId);
    const minilm = parseConfig({
      ...run.config,
      training: { ...run.config.training, models: { bert: "minilm", roberta: "minilm" } },
    });
    expect(runTrackingLine(minilm)).toBe("minilm-3class");
    const labels = parseConfig({
      ...run.config,
      data: { ...run.config.data, labels: { negativeMax: 1, positiveMin: 5 } },
    });
    expect(runTrackingLine(labels)).toBe("bert-base-uncased-3class-n1-p5");
    expect(runTrackingLine(labels, { uploadModelLine: "books-3class" })).toBe("books-3class");
  });

  it("keeps one parent run when a trainer job created another at the same time", async () => {
    const tracker = new MemoryTracker();
    const experiment = await tracker.ensureExperiment("sentiment-pipeline/roberta-base-3class");
    // The trainer's parent run, created a moment before the pipeline's first event reached the tracker.
    const trainers = await tracker.createRun(
      experiment.experimentId,
      run.runId,
      { run_id: run.runId, step: "pipeline" },
      1,
    );
    await track(tracker, run.events);
    const parents = tracker.runs.filter((r) => r.tags.step === "pipeline");
    expect(parents.map((r) => r.runId)).toEqual([trainers.runId]);
    expect(parents[0]!.tags.input).toBe(run.stats.input);
  });

  it("logs the test metrics, per-class and per-slice F1 with intervals, and the bias findings", async () => {
    const tracker = new MemoryTracker();
    await track(tracker, run.events);
    const last = tracker.runs.find((r) => r.tags.step === "evaluate" && r.tags.attempt === "2")!;
    const m = run.metrics.metrics;
    expect(last.metrics).toMatchObject({
      test_weighted_f1: m.weightedF1,
      test_macro_f1: m.macroF1,
      test_accuracy: m.accuracy,
      test_f1_negative: m.perClass.NEGATIVE.f1,
      test_f1_neutral: m.perClass.NEUTRAL.f1,
      test_recall_positive: m.perClass.POSITIVE.recall,
      test_biased_slices: 1,
      test_blocking_slices: 1,
    });
    for (const s of run.slices.slices) {
      expect(last.metrics[sliceMetricKey(s.column, s.value, "f1")]).toBeCloseTo(s.f1, 12);
      expect(last.metrics[sliceMetricKey(s.column, s.value, "f1_low")]).toBeCloseTo(s.f1Interval!.low, 12);
    }
    // One naming scheme: every metric of the evaluation is a snake_case test_* key, every param snake_case.
    expect(Object.keys(last.metrics)).toContain("test_slice_main_category_tools_home_f1");
    expect(Object.keys(last.metrics).filter((k) => !/^test_[a-z0-9_]+$/.test(k))).toEqual([]);
    expect(Object.keys(last.params).filter((k) => !/^[a-z0-9_]+$/.test(k))).toEqual([]);
    expect(last.params).toMatchObject({
      rules_f1_min: "0.6",
      model_family: "roberta",
      mitigation: "reweight",
    });
    expect(last.tags["bias.verdict"]).toBe("biased");
    expect(last.tags["bias.blocking_slices"]).toMatch(
      /^main_category=Grocery \(F1 0\.\d{3}, ratio 0\.\d{3}, share 15\.0%/,
    );
    expect(last.tags["mlflow.note.content"]).toContain(`| main_category | ${TRICKY_CATEGORY} |`);
    expect(JSON.parse(tracker.artifacts.get(`${last.runId}/slices.json`)!)).toEqual(run.slices);
  });

  it("tags the pipeline run's parent run with each retrigger decision and its reason, and the outcome", async () => {
    const tracker = new MemoryTracker();
    await track(tracker, run.events);
    const tags = tracker.runs.find((r) => r.tags.step === "pipeline")!.tags;
    const retriggered = run.events.find((e) => e.type === "run.retriggered")!;
    expect(retriggered.type === "run.retriggered" && tags["retrigger.train.a2"]).toBe(
      `bias: ${retriggered.type === "run.retriggered" ? retriggered.data.detail : ""}`,
    );
    expect(tags).toMatchObject({
      outcome: "blocked_bias",
      attempts: "prepare a1, tune a1, train a2, evaluate a2",
      "budgets.used": "retune 0, mitigation 1, manual 0",
    });
    expect(tags["outcome.reason"]).toContain("the mitigation budget (1) is spent");
    expect(tags.report).toBe(run.store.pathOf(`gs://${run.store.bucket}/runs/${run.runId}/report.html`));
    expect(tags["mlflow.note.content"]).toContain("| train a2 | biased slice main_category=Grocery");
    // Each evaluation run learns what the pipeline did with its numbers.
    const decisions = tracker.runs.filter((r) => r.tags.step === "evaluate").map((r) => r.tags.decision);
    expect(decisions[0]).toContain("mitigated re-training 1 of 1");
    expect(decisions[1]).toMatch(/^blocked_bias: /);
  });

  it("records a person's retrigger with who asked and why", async () => {
    const f = await fixtureRun("promoted");
    const request = makeEvent(
      "retrigger.requested",
      { runId: f.runId, attempt: 1, time: "2026-03-01T11:00:00.000Z" },
      { fromStep: "evaluate", reason: "relabelled NEUTRAL", requestedBy: "ana" },
    );
    const d = decide(f.state, request, f.config);
    if (d.kind !== "applied") throw new Error(d.reason);
    const current = await f.ledger.get(f.runId);
    await f.ledger.compareAndSwap({ ...d.state, outbox: [] }, current!.generation);
    const published = d.effects.flatMap((e) => (e.kind === "publish" ? [PipelineEvent.parse(e.event)] : []));
    const tracker = new MemoryTracker();
    await track(tracker, [...f.events, ...published], f);
    const parent = tracker.runs.find((r) => r.tags.step === "pipeline")!;
    expect(parent.tags["retrigger.evaluate.a2"]).toBe(
      "manual: manual retrigger from evaluate by ana: relabelled NEUTRAL",
    );
    // Retriggered after it completed: its parent run is running again until the run completes again.
    expect(parent.status).toBe("RUNNING");
  });

  it("logs the time the run worked and the time it sat idle on its parent run when it completes", async () => {
    const tracker = new MemoryTracker();
    await track(tracker, run.events);
    const parent = tracker.runs.find((r) => r.tags.step === "pipeline")!;
    const state = (await run.ledger.get(run.runId))!.state;
    // Never retriggered after completing: all of its time was work.
    expect(parent.metrics.idle_seconds).toBe(0);
    expect(parent.metrics.working_seconds).toBeCloseTo(
      (Date.parse(state.updatedAt) - Date.parse(state.createdAt)) / 1000,
      6,
    );
    expect(parent.status).toBe("FINISHED");
  });

  it("changes nothing when every event is delivered again", async () => {
    const tracker = new MemoryTracker();
    await track(tracker, run.events);
    const before = JSON.stringify({ e: tracker.experiments, r: tracker.runs });
    await track(tracker, run.events);
    expect(JSON.stringify({ e: tracker.experiments, r: tracker.runs })).toBe(before);
  });

  it("leaves where the run is in MLflow for the report, which links to the parent run", async () => {
    const f = await fixtureRun("promoted");
    const deps = { store: f.store, ledger: f.ledger, config: f.config };
    expect((await renderRunReport(deps, f.runId)).html).not.toContain("data-mlflow");
    const tracker = new HttpTracker();
    await track(tracker, f.events, f);
    const parent = tracker.runs.find((r) => r.tags.step === "pipeline")!;
    const { html, model } = await renderRunReport(deps, f.runId);
    expect(model.mlflow).toEqual({
      url: `http://mlflow.test:5000/#/experiments/1/runs/${parent.runId}`,
      experimentName: "sentiment-pipeline/roberta-base-3class",
    });
    expect(html).toContain(
      `<a data-mlflow href="http://mlflow.test:5000/#/experiments/1/runs/${parent.runId}">sentiment-pipeline/roberta-base-3class</a>`,
    );
    // A location that is not an http(s) address is no link, and the report says the file is invalid.
    const uri = `gs://${f.store.bucket}/runs/${f.runId}/mlflow.json`;
    const location = JSON.parse((await f.store.read(uri)).toString()) as Record<string, string>;
    await f.store.write(uri, JSON.stringify({ ...location, trackingUri: "javascript:alert(1)" }));
    const hostile = await renderRunReport(deps, f.runId);
    expect(hostile.model.mlflow).toBeNull();
    expect(hostile.model.gaps.some((g) => g.startsWith("MLflow location:"))).toBe(true);
  });

  it("still records the evaluation when its files are gone, and says so", async () => {
    const f = await fixtureRun("blocked_bias");
    for (const uri of await f.store.list(`gs://${f.store.bucket}/runs/${f.runId}/evaluate/`))
      await f.store.delete(uri);
    const tracker = new MemoryTracker();
    const log = await track(tracker, f.events, f);
    const last = tracker.runs.find((r) => r.tags.attempt === "2")!;
    expect(last.metrics.test_weighted_f1).toBe(f.metrics.metrics.weightedF1);
    expect(last.metrics.test_f1_neutral).toBeUndefined();
    expect(log.at("WARNING").some((e) => e.message.includes("metrics.json is missing"))).toBe(true);
  });
});

describe("MLflow slice keys", () => {
  it("snake-case column and value, and keep two values that snake-case alike apart", () => {
    expect(sliceMetricKey("main_category", "All Beauty", "f1")).toBe(
      "test_slice_main_category_all_beauty_f1",
    );
    expect(sliceMetricKey("year", "", "f1")).toBe("test_slice_year_blank_f1");
    const keys = sliceKeys([
      { column: "main_category", value: "Tools & Home" },
      { column: "main_category", value: "tools home" },
      { column: "main_category", value: "TOOLS-HOME" },
      { column: "year", value: "2021" },
    ]).map((k) => k("f1"));
    expect(keys).toEqual([
      "test_slice_main_category_tools_home_f1",
      "test_slice_main_category_tools_home_2_f1",
      "test_slice_main_category_tools_home_3_f1",
      "test_slice_year_2021_f1",
    ]);
  });
});

describe("track-run function", () => {
  function deps(
    tracker: MlflowRestTracker | MemoryTracker | null,
    now = { t: Date.parse("2026-03-01T12:00:00Z") },
  ) {
    const log = new CapturingLogger();
    const deadLetters = new MemoryDeadLetters();
    const handler = makeTrackRun({
      config: run.config,
      tracker,
      store: run.store,
      ledger: run.ledger,
      log,
      deadLetters,
      clock: { now: () => new Date(now.t) },
    });
    return { handler, log, deadLetters, now };
  }
  const push = (e: PipelineEvent, topic: string) => {
    const { data, attributes } = encodeEvent(e);
    return pubsubPush(data, attributes, topic);
  };

  it("never fails the run when MLflow cannot be reached: a warning, then a pause instead of one per event", async () => {
    const port = await closedPort();
    const tracker = new MlflowRestTracker({ uri: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const { handler, log, now } = deps(tracker);
    const evaluation = run.events.find((e) => e.type === "evaluation.completed")!;
    await expect(handler(push(evaluation, "evaluation-completed"))).resolves.toBeUndefined();
    const warnings = log.at("WARNING");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(
      /MLflow tracking skipped evaluation\.completed: MLflow at http:\/\/127\.0\.0\.1:\d+ is unreachable: ECONNREFUSED/,
    );
    const completed = run.events.find((e) => e.type === "run.completed")!;
    await handler(push(completed, "run-completed"));
    expect(log.at("WARNING")).toHaveLength(1);
    now.t += 60_000;
    await handler(push(completed, "run-completed"));
    expect(log.at("WARNING")).toHaveLength(2);
  });

  it("acknowledges and records nothing when no tracking server is configured", async () => {
    const { handler, log } = deps(null);
    await handler(
      push(
        run.events.find((e) => e.type === "run.completed")!,
        "run-completed",
      ),
    );
    expect(log.entries).toEqual([]);
  });

  it("leaves a malformed message to the router that keeps it, and keeps one nobody else reads", async () => {
    const { handler, log, deadLetters } = deps(new MemoryTracker());
    await handler(pubsubPush("{oops", {}, "evaluation-completed"));
    expect(deadLetters.kept).toHaveLength(0);
    expect(log.at("WARNING")[0]!.message).toContain("advance-run keeps the dead letter");
    await handler(pubsubPush("{oops", {}, "run-completed"));
    expect(deadLetters.kept).toHaveLength(1);
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 1;
      server.close(() => resolve(port));
    });
  });
}
