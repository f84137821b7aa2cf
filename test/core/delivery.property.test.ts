// Property: at-least-once, out-of-order delivery changes nothing: one launch per step attempt, the same final state.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { processEvent, type RunProcessorDeps } from "../../functions/run-processor.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { topicForEvent, TOPICS } from "../../events/topics.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import type { RunState } from "../../schemas/run-state.ts";
import type { ModelVersion } from "../../platform/ports/model-registry.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import * as ev from "../support/events.ts";

const config = parseConfig({});
const STARTED = ev.runStarted();
/** A person asks to evaluate again once the run first completes: exercises dedupe of a request delivered thrice. */
const RETRIGGER = ev.retriggerRequested("evaluate", "re-check with the new champion");

/** What each job attempt does in this scripted run: fail, or complete with an event. */
function jobOutcome(spec: JobSpec): PipelineEvent {
  const time = new Date(
    Date.parse("2026-02-01T00:00:00Z") +
      (["prepare", "tune", "train", "evaluate"].indexOf(spec.step) * 100 + spec.attempt) * 1000,
  ).toISOString();
  const id = `done-${spec.jobName}`;
  const fix = <E extends PipelineEvent>(e: E): E => ({ ...e, id, time });
  const books = (f1: number) => [
    ev.slice("main_category", "Books", f1, 0.2, null, 0.8),
    ev.slice("year", "2021", 0.8, 0.5, null, 0.8),
  ];
  switch (`${spec.step}:a${spec.attempt}`) {
    case "prepare:a1":
      return fix(ev.jobFailed("prepare", 1));
    case "prepare:a2":
      return fix(ev.dataPrepared(2));
    case "tune:a1":
      return fix(ev.tuningCompleted(1));
    case "tune:a2":
      // The retune finds other parameters, so the run trains them.
      return fix(
        ev.tuningCompleted(2, ev.RUN, undefined, { ...ev.PARAMS, epochs: ev.PARAMS.epochs + 1 }, 0.9),
      );
    case "train:a1":
    case "train:a2":
    case "train:a3":
      return fix(ev.trainingCompleted(spec.attempt));
    case "evaluate:a1":
      return fix(ev.evaluationCompleted(1, { weightedF1: 0.5 }));
    case "evaluate:a2":
      return fix(ev.evaluationCompleted(2, { weightedF1: 0.8, slices: books(0.4) }));
    case "evaluate:a3":
      return fix(ev.evaluationCompleted(3, { weightedF1: 0.8, slices: books(0.79) }));
    case "evaluate:a4":
      return fix(ev.evaluationCompleted(4, { weightedF1: 0.82, slices: books(0.8), trainAttempt: 3 }));
    default:
      throw new Error(`unexpected launch ${spec.jobName}`);
  }
}

interface Outcome {
  state: RunState;
  launchCalls: string[];
  created: string[];
  deliveries: number;
}

/**
 * Delivers every message `copies` times, picking the next delivery at random (or in order when `pick` is null).
 * With `failEvery`, that share of effect calls throws once, as a transient error would: the message goes back.
 */
async function simulate(
  copies: number,
  pick: ((n: number) => number) | null,
  failEvery = 0,
  failSeed = 1,
): Promise<Outcome> {
  const ledger = new MemoryRunLedger();
  const queue: PipelineEvent[] = [];
  const launchCalls: string[] = [];
  const created = new Set<string>();
  const versions: ModelVersion[] = [];
  const chance = picker(failSeed);
  let retriggered = false;
  const flaky = () => {
    if (failEvery > 0 && chance(failEvery) === 0) throw new Error("transient");
  };
  const enqueue = (e: PipelineEvent) => {
    if ((TOPICS[topicForEvent(e.type)].consumers as readonly string[]).includes("advance-run"))
      for (let i = 0; i < copies; i++) queue.push(e);
  };
  const deps: RunProcessorDeps = {
    config,
    ledger,
    log: new CapturingLogger(),
    clock: { now: () => new Date("2026-03-01T00:00:00Z") },
    bus: {
      publish: (e) => {
        flaky();
        enqueue(e);
        if (e.type === "run.completed" && !retriggered) {
          retriggered = true;
          for (let i = 0; i < copies; i++) queue.push(RETRIGGER);
        }
        return Promise.resolve(e.id);
      },
      publishRaw: () => Promise.resolve("raw"),
    },
    launcher: {
      launch: (spec) => {
        flaky();
        launchCalls.push(spec.jobName);
        if (created.has(spec.jobName)) return Promise.resolve({ jobId: spec.jobName, created: false });
        created.add(spec.jobName);
        enqueue(jobOutcome(spec));
        return Promise.resolve({ jobId: spec.jobName, created: true });
      },
      cancel: () => Promise.resolve(),
      describe: () => Promise.resolve(null),
    },
    registry: {
      registerChampion: (r) => {
        flaky();
        let v = versions.find((x) => x.runId === r.runId && x.version === `${r.runId}:${r.attempt}`);
        if (!v) {
          v = {
            modelResource: "m",
            line: r.line,
            version: `${r.runId}:${r.attempt}`,
            artifactUri: r.artifactUri,
            runId: r.runId,
            aliases: ["champion"],
            metrics: r.metrics,
            createdAt: "2026-01-01T00:00:00Z",
          };
          versions.push(v);
        }
        return Promise.resolve({ ...v, created: true });
      },
      getChampion: () => Promise.resolve(versions.at(-1) ?? null),
      listVersions: () => Promise.resolve(versions),
    },
  };
  enqueue(STARTED);
  let deliveries = 0;
  while (queue.length > 0) {
    if (++deliveries > 5000) throw new Error("no end in sight");
    const i = pick ? pick(queue.length) : 0;
    const [event] = queue.splice(i, 1);
    try {
      await processEvent(deps, event!);
    } catch {
      queue.push(event!); // nack: Pub/Sub redelivers
    }
  }
  const final = await ledger.get(ev.RUN);
  return { state: final!.state, launchCalls, created: [...created], deliveries };
}

/** A seeded choice of the next delivery (mulberry32), so a failing case is reproducible from its seed. */
function picker(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
  };
}

describe("delivery: at least once, in any order", () => {
  it("reaches promoted through a failure, a retune, a mitigation and a manual re-evaluation when each event arrives once in order", async () => {
    const once = await simulate(1, null);
    expect(once.state.outcome).toBe("promoted");
    expect(once.launchCalls).toEqual([
      `sp-${ev.RUN}-prepare-a1`,
      `sp-${ev.RUN}-prepare-a2`,
      `sp-${ev.RUN}-tune-a1`,
      `sp-${ev.RUN}-train-a1`,
      `sp-${ev.RUN}-evaluate-a1`,
      `sp-${ev.RUN}-tune-a2`,
      `sp-${ev.RUN}-train-a2`,
      `sp-${ev.RUN}-evaluate-a2`,
      `sp-${ev.RUN}-train-a3`,
      `sp-${ev.RUN}-evaluate-a3`,
      `sp-${ev.RUN}-evaluate-a4`,
    ]);
    expect(once.state.outbox).toEqual([]);
    expect(once.state.steps.register.attempt).toBe(2);
    expect(once.state.budgets.manualRetriggersUsed).toBe(1);
  });

  it("every event three times in random order: exactly one launch per step attempt and the same final state (1,000 cases)", async () => {
    const reference = await simulate(1, null);
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const shuffled = await simulate(3, picker(seed));
        expect(shuffled.launchCalls).toEqual(reference.launchCalls);
        expect(shuffled.state).toEqual(reference.state);
      }),
      { numRuns: 1000 },
    );
  });

  it("with random transient failures of effects as well, still creates each job once and ends the same (200 cases)", async () => {
    const reference = await simulate(1, null);
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 2, max: 7 }), async (seed, failEvery) => {
        const flaky = await simulate(3, picker(seed), failEvery, seed ^ 0x5bd1e995);
        expect(flaky.created).toEqual(reference.created);
        expect(flaky.state).toEqual(reference.state);
      }),
      { numRuns: 200 },
    );
  });
});
