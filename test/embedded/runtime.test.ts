// The embedded runtime end to end with scripted jobs: uploads start runs that the functions drive to an outcome.
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime, WaitStopped } from "../../emulator/embedded/runtime.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

const SCRIPT = join(import.meta.dirname, "../support/scripted-job.ts");
let runtime: EmbeddedRuntime | undefined;

function start(plan: Record<string, unknown> = {}) {
  const root = mkdtempSync(join(tmpdir(), "sp-embedded-"));
  const config = parseConfig({ runtime: { mode: "embedded", localRoot: root } });
  const log = new CapturingLogger();
  const events: PipelineEvent[] = [];
  process.env.SCRIPTED_PLAN = JSON.stringify(plan);
  runtime = new EmbeddedRuntime({
    config,
    log,
    commandFor: () => [process.execPath, "--import", "tsx", SCRIPT],
  });
  runtime.bus.observe((e) => events.push(e));
  return { runtime, root, log, events };
}

afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

const reviews = Buffer.from('{"rating":5,"title":"great","text":"works"}\n');

describe("embedded runtime", () => {
  it("drives an upload to promoted and registers the model as champion", async () => {
    const { runtime, root, events } = start();
    const { runId } = await runtime.upload(reviews, "reviews.jsonl");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("promoted");
    expect(events.map((e) => e.type)).toEqual([
      "run.started",
      "data.prepared",
      "tuning.completed",
      "training.completed",
      "evaluation.completed",
      "model.registered",
      "run.completed",
    ]);
    expect(state.modelLine).toBe("bert-base-uncased-3class");
    expect(await runtime.registry.getChampion(state.modelLine!)).toMatchObject({
      runId,
      version: "1",
      artifactUri: `gs://local-bucket/runs/${runId}/train/a1/model`,
    });
    const doc = JSON.parse(readFileSync(join(root, "bucket", "runs", runId, "state.json"), "utf8")) as {
      state: { outcome: string };
    };
    expect(doc.state.outcome).toBe("promoted");
  });

  it("retunes once on a low F1, then stops below the threshold", async () => {
    const low = { overall: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.4 } };
    const { runtime } = start({ "evaluate:1": low, "evaluate:2": low });
    const { runId } = await runtime.upload(reviews, "low.jsonl");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("below_threshold");
    expect(state.steps.tune.attempt).toBe(2);
    expect(await runtime.registry.getChampion(state.modelLine!)).toBeNull();
  });

  it("retries a crashed job once and completes", async () => {
    const { runtime } = start({ "train:1": "crash" });
    const { runId } = await runtime.upload(reviews, "crash.jsonl");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("promoted");
    expect(state.steps.train.attempt).toBe(2);
    expect(state.trail.map((t) => t.decision).join("\n")).toMatch(
      /train attempt 1 failed \(sp-.*-train-a1 exited with code 1\); retry 1 of 1/,
    );
  });

  it("fails the run with the job's own reason when it cannot be retried", async () => {
    const { runtime } = start({ "prepare:1": "reject" });
    const { runId } = await runtime.upload(reviews, "bad.jsonl");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("failed");
    expect(state.trail.at(-1)!.decision).toContain("the upload is unusable: 0 valid rows");
  });

  it("restarts a finished run from a step when a person asks, and promotes it again without a second version of the same model", async () => {
    const { runtime } = start();
    const { runId } = await runtime.upload(reviews, "again.jsonl");
    await runtime.waitForRun(runId, 60_000);
    await runtime.retrigger(runId, "evaluate", "re-check after the fix", "ana");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.steps.evaluate.attempt).toBe(2);
    expect(state.outcome).toBe("promoted");
    // The re-evaluated model is the one already registered: the line keeps one version, and the trail says why.
    expect((await runtime.registry.listVersions(state.modelLine!)).map((v) => [v.version, v.runId])).toEqual([
      ["1", runId],
    ]);
    expect(state.trail.at(-1)!.decision).toBe(
      `promoted: already registered as version 1 of line ${state.modelLine}: no new version made (champion)`,
    );
  });

  it("keeps a malformed message published on a topic as a dead letter and carries on", async () => {
    const { runtime, root } = start();
    await runtime.bus.publishRaw("dataPrepared", { data: Buffer.from("{oops"), attributes: {} });
    await runtime.settle();
    const dir = join(root, "dead-letters", "data-prepared");
    expect(readdirSync(dir)).toHaveLength(1);
    const { runId } = await runtime.upload(reviews, "after.jsonl");
    expect((await runtime.waitForRun(runId, 60_000)).outcome).toBe("promoted");
  });

  it("promotes a model whose int8 export flipped near-ties, serving fp32 and saying why in the trail", async () => {
    const reason =
      "int8 rejected, fp32 served: int8 validation macro F1 0.6900 vs fp32 0.7270 (tolerance 0.02)";
    const { runtime, events } = start({ "train:1": { quantization: { served: "fp32", reason } } });
    const { runId } = await runtime.upload(reviews, "near-ties.jsonl");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("promoted");
    expect(events.some((e) => e.type === "job.failed")).toBe(false);
    const trained = state.trail.find((t) => t.eventType === "training.completed")!;
    expect(trained.decision).toContain(reason);
  });

  it("stops waiting when asked, records the interruption (not a job failure), and resumes on retrigger", async () => {
    const { runtime, events } = start({ "tune:1": "hang" });
    const { runId } = await runtime.upload(reviews, "interrupted.jsonl");
    const stop = new AbortController();
    const waiting = runtime.waitForRun(runId, undefined, stop.signal);
    await expect
      .poll(async () => (await runtime.state(runId))?.steps.tune.status, { timeout: 30_000 })
      .toBe("running");
    stop.abort("interrupted (Ctrl-C)");
    await expect(waiting).rejects.toThrow(WaitStopped);
    const stopped = await runtime.interrupt(runId, "the demo stopped waiting: interrupted (Ctrl-C)");
    expect(stopped?.status).toBe("running");
    expect(stopped?.trail.at(-1)?.decision).toMatch(
      /^interrupted during tune a1: the demo stopped waiting: interrupted \(Ctrl-C\); not a job failure\. `sentiment-pipeline retrigger .* --from tune --reason TEXT` resumes it$/,
    );
    await runtime.settle();
    expect(events.some((e) => e.type === "job.failed")).toBe(false);
    expect(await runtime.launcher.describe(`sp-${runId}-tune-a1`)).toMatchObject({ state: "CANCELLED" });

    await runtime.retrigger(runId, "tune", "resume after the interruption");
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("promoted");
    expect(state.steps.tune.attempt).toBe(2);
  });

  it("runs three uploads at once as three independent runs", async () => {
    const { runtime } = start();
    const ids = await Promise.all(
      ["a.jsonl", "b.jsonl", "c.jsonl"].map(async (n) => (await runtime.upload(reviews, n)).runId),
    );
    const states = await Promise.all(ids.map((id) => runtime.waitForRun(id, 90_000)));
    expect(states.map((s) => s.outcome)).toEqual(["promoted", "promoted", "promoted"]);
    expect(new Set(ids).size).toBe(3);
  });
});
