// A run whose upload named its model line is tracked in that line's experiment, and its jobs are told so.
import { describe, expect, it } from "vitest";
import { makeEvent } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { trackEvent } from "../../tracking/run-tracking.ts";
import { buildJobSpec } from "../../gpu-jobs/specs/build-job-spec.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { fixtureRun } from "../report/support/fixture-run.ts";
import { MemoryTracker } from "./support/memory-tracker.ts";

describe("tracking a run whose upload named its model line", () => {
  it("records the run in the upload line's experiment, not the config's", async () => {
    const f = await fixtureRun("promoted");
    const current = (await f.ledger.get(f.runId))!;
    expect(
      await f.ledger.compareAndSwap(
        // As the decision core fixes it when training completes: the upload's line wins.
        { ...current.state, uploadModelLine: "books-3class", modelLine: "books-3class" },
        current.generation,
      ),
    ).toBe(true);
    const events: PipelineEvent[] = f.events.map((e) =>
      e.type === "run.started"
        ? makeEvent(
            "run.started",
            { id: e.id, runId: e.runId, attempt: e.attempt, correlationId: e.correlationId, time: e.time },
            { ...e.data, modelLine: "books-3class" },
          )
        : e,
    );
    const tracker = new MemoryTracker();
    const log = new CapturingLogger();
    for (const e of events)
      await trackEvent({ tracker, store: f.store, ledger: f.ledger, config: f.config, log }, e);
    expect(tracker.experiments.map((e) => [e.name, e.tags.model_line])).toEqual([
      ["sentiment-pipeline/books-3class", "books-3class"],
    ]);
    const parent = tracker.runs.find((r) => r.tags.step === "pipeline")!;
    expect(parent.tags.model_line).toBe("books-3class");
    expect(tracker.runs.filter((r) => r.tags.step === "evaluate").length).toBeGreaterThan(0);
  });

  it("gives the run's jobs the upload line's experiment as MLFLOW_EXPERIMENT_NAME", async () => {
    const f = await fixtureRun("promoted");
    const config = parseConfig({
      ...f.config,
      runtime: { ...f.config.runtime, mlflowTrackingUri: "http://mlflow:5000" },
    });
    const state = (await f.ledger.get(f.runId))!.state;
    expect(buildJobSpec(config, state, "train", 1).env.MLFLOW_EXPERIMENT_NAME).not.toBe(
      "sentiment-pipeline/books-3class",
    );
    const named = { ...state, uploadModelLine: "books-3class" };
    expect(buildJobSpec(config, named, "train", 1).env.MLFLOW_EXPERIMENT_NAME).toBe(
      "sentiment-pipeline/books-3class",
    );
    // Every family's runs go to the upload's line; without it, each family's to its own line.
    expect(JSON.parse(buildJobSpec(config, named, "tune", 1).env.SP_MLFLOW_EXPERIMENTS!)).toEqual({
      bert: "sentiment-pipeline/books-3class",
      roberta: "sentiment-pipeline/books-3class",
    });
    expect(JSON.parse(buildJobSpec(config, state, "tune", 1).env.SP_MLFLOW_EXPERIMENTS!)).toEqual({
      bert: "sentiment-pipeline/bert-base-uncased-3class",
      roberta: "sentiment-pipeline/roberta-base-3class",
    });
  });
});
