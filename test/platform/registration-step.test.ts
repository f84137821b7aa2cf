// The registration step against the Vertex stand-in: advance-run registers promoted runs through the Vertex registry
// adapter (two promoted runs, two versions, the alias on the second) and a blocked run registers nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { makeAdvanceRun } from "../../functions/advance-run.ts";
import { VertexModelRegistry } from "../../platform/gcp/vertex-model-registry.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import { eventPush } from "../support/cloud-events.ts";
import * as ev from "../support/events.ts";
import { startStandIn, type StandInHarness } from "./vertex-stand-in-support.ts";

/** The default config's line: bert-base-uncased (the events' model family) and the default labels. */
const LINE = "bert-base-uncased-3class";
let h: StandInHarness;
let seq = 0;
const registries: VertexModelRegistry[] = [];

beforeAll(async () => {
  h = await startStandIn();
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await h?.close();
});

/** advance-run over a memory ledger and recording fakes, with the Vertex registry adapter on the stand-in. */
function pipeline(budgets: Partial<PipelineConfig["budgets"]> = {}) {
  const config = parseConfig({ runtime: { bucket: "local-bucket", projectId: "local-project" }, budgets });
  const registry = new VertexModelRegistry({
    projectId: "local-project",
    region: "us-central1",
    endpoint: h.standIn.endpoint,
    modelId: `sentiment-step-${process.pid}-${++seq}`,
    servingImageUri: "us-central1-docker.pkg.dev/local-project/sentiment-pipeline/serving:latest",
  });
  registries.push(registry);
  const bus = new RecordingBus();
  const ledger = new MemoryRunLedger();
  const advance = makeAdvanceRun({
    config,
    bus,
    launcher: new RecordingLauncher(),
    ledger,
    registry,
    log: new CapturingLogger(),
    deadLetters: new MemoryDeadLetters(),
    clock: { now: () => new Date() },
  });
  /** Delivers an event, then whatever advance-run published that it consumes itself (model.registered). */
  const deliver = async (event: PipelineEvent): Promise<void> => {
    const before = bus.events.length;
    await advance(eventPush(event));
    for (const next of bus.events.slice(before)) if (next.type === "model.registered") await deliver(next);
  };
  const run = async (
    runId: string,
    evaluation: Parameters<typeof ev.evaluationCompleted>[1],
  ): Promise<RunState> => {
    await deliver(ev.runStarted(runId));
    await deliver(ev.dataPrepared(1, runId));
    await deliver(ev.tuningCompleted(1, runId));
    await deliver(ev.trainingCompleted(1, null, runId));
    await deliver(ev.evaluationCompleted(1, { ...evaluation, runId }));
    return (await ledger.get(runId))!.state;
  };
  return { registry, bus, run, deliver, ledger };
}

describe("the registration step over the Vertex stand-in", () => {
  it("makes two versions of one model for two promoted runs, and the champion alias points to the second", async () => {
    const p = pipeline();
    const first = await p.run("promoted-one-0000000001", { weightedF1: 0.8 });
    const second = await p.run("promoted-two-0000000002", {
      weightedF1: 0.82,
      champion: { version: "1", weightedF1: 0.8 },
    });
    expect(first.outcome).toBe("promoted");
    expect(second.outcome).toBe("promoted");
    const versions = await p.registry.listVersions(LINE);
    expect(versions.map((v) => [v.version, v.runId])).toEqual([
      ["1", "promoted-one-0000000001"],
      ["2", "promoted-two-0000000002"],
    ]);
    const champion = await p.registry.getChampion(LINE);
    expect(champion).toMatchObject({
      version: "2",
      runId: "promoted-two-0000000002",
      artifactUri: "gs://local-bucket/runs/promoted-two-0000000002/train/a1/model",
    });
    expect(second.artifacts.registration).toMatchObject({
      modelResource: p.registry.modelName(LINE),
      version: "2",
      alias: "champion",
    });
    expect(p.bus.ofType("model.registered").map((e) => e.data.version)).toEqual(["1", "2"]);
  });

  it("registers nothing for a run blocked by a biased slice, and the champion stays where it was", async () => {
    const p = pipeline({ mitigation: 0 });
    await p.run("promoted-first-000000003", { weightedF1: 0.8 });
    const blocked = await p.run("blocked-run-00000000004", {
      weightedF1: 0.85,
      champion: { version: "1", weightedF1: 0.8 },
      slices: [
        ev.slice("main_category", "Books", 0.3, 0.3, null, 0.85),
        ev.slice("year", "2021", 0.85, 0.5, null, 0.85),
      ],
    });
    expect(blocked.outcome).toBe("blocked_bias");
    expect(blocked.artifacts.registration).toBeNull();
    expect((await p.registry.listVersions(LINE)).map((v) => v.runId)).toEqual(["promoted-first-000000003"]);
    expect((await p.registry.getChampion(LINE))?.runId).toBe("promoted-first-000000003");
  });

  it("re-registering a run's model after a retrigger from evaluate makes no new version, and says so", async () => {
    const p = pipeline();
    const runId = "promoted-again-00000005";
    await p.run(runId, { weightedF1: 0.8 });
    await p.deliver(ev.retriggerRequested("evaluate", "re-check", runId));
    await p.deliver(
      ev.evaluationCompleted(2, {
        runId,
        weightedF1: 0.8,
        trainAttempt: 1,
        champion: { version: "1", weightedF1: 0.8 },
      }),
    );
    const state = (await p.ledger.get(runId))!.state;
    expect(state.outcome).toBe("promoted");
    expect(state.trail.at(-1)!.decision).toBe(
      `promoted: already registered as version 1 of line ${LINE}: no new version made (champion)`,
    );
    expect((await p.registry.listVersions(LINE)).map((v) => v.version)).toEqual(["1"]);
    const registered = p.bus.ofType("model.registered").map((e) => e.data);
    expect(registered.map((d) => [d.version, d.alreadyRegistered, d.modelLine])).toEqual([
      ["1", false, LINE],
      ["1", true, LINE],
    ]);
  });

  it("says so when an earlier version registered again takes the champion alias back", async () => {
    const p = pipeline();
    const first = "promoted-older-000000006";
    await p.run(first, { weightedF1: 0.8 });
    await p.run("promoted-newer-000000007", {
      weightedF1: 0.82,
      champion: { version: "1", weightedF1: 0.8 },
    });
    expect((await p.registry.getChampion(LINE))?.version).toBe("2");
    // The first run's model re-evaluated (relabelled test data, say) beats the champion: it is version 1 already.
    await p.deliver(ev.retriggerRequested("evaluate", "relabelled", first));
    await p.deliver(
      ev.evaluationCompleted(2, {
        runId: first,
        weightedF1: 0.85,
        trainAttempt: 1,
        champion: { version: "2", weightedF1: 0.82 },
      }),
    );
    const state = (await p.ledger.get(first))!.state;
    expect(state.trail.at(-1)!.decision).toBe(
      `promoted: already registered as version 1 of line ${LINE}: no new version made (champion); the champion alias moves back to it from version 2`,
    );
    expect((await p.registry.getChampion(LINE))?.version).toBe("1");
    expect(p.bus.ofType("model.registered").map((e) => e.data.previousChampion)).toEqual([null, "1", "2"]);
  });
});
