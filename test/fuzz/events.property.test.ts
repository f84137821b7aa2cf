// Fuzzing the event doors: any message on a pipeline topic, and any retrigger message, decodes into a valid event or
// is refused as malformed; an event that decodes names artifacts only inside its own run folder, and the decision
// core applies, ignores or rejects it without throwing, never writing a foreign URI into the run state.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeEvent, decodeRetriggerRequest, MalformedMessageError } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { decide } from "../../functions/core/decide.ts";
import { artifactUris } from "../../functions/core/artifact-check.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import * as ev from "../support/events.ts";
import { allFinite, hostileNumber, hostilePath, RUNS } from "./support.ts";

const config = parseConfig({});
const BUCKET = config.runtime.bucket;

/** A run waiting for each kind of completion event, so that fuzzed events reach the decision core's checks. */
function states(): RunState[] {
  const steps: PipelineEvent[] = [
    ev.runStarted(),
    ev.dataPrepared(),
    ev.tuningCompleted(),
    ev.trainingCompleted(),
    ev.evaluationCompleted(),
  ];
  const out: RunState[] = [];
  let state: RunState | null = null;
  for (const e of steps) {
    const d = decide(state, e, config);
    if (d.kind !== "applied") throw new Error(d.reason);
    state = d.state;
    out.push(state);
  }
  return out;
}
const STATES = states();

/** Valid events with one field (a URI, a number, anything) replaced by a hostile value. */
const mutatedEvent = fc
  .tuple(
    fc.constantFrom<PipelineEvent>(
      ev.dataPrepared(),
      ev.tuningCompleted(),
      ev.trainingCompleted(),
      ev.evaluationCompleted(1, { champion: { version: "3", weightedF1: 0.7 } }),
      ev.runStarted(),
      ev.jobFailed("train", 1),
    ),
    fc.oneof(hostilePath, hostileNumber, fc.jsonValue()),
    fc.nat(),
  )
  .map(([event, value, pick]) => {
    const copy = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
    const paths = leafPaths(copy);
    const path = paths[pick % paths.length]!;
    let at = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
    at[path.at(-1)!] = value;
    return JSON.stringify(copy);
  });

function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function checkDecoded(event: PipelineEvent): void {
  expect(allFinite(event)).toBe(true);
  for (const [, uri] of artifactUris(event)) {
    expect(uri.startsWith("gs://")).toBe(true);
    expect(uri.split("/").slice(3)).not.toContain("..");
  }
  for (const state of STATES) {
    const d = decide(state, event, config);
    if (d.kind !== "applied") continue;
    const a = d.state.artifacts;
    const written = [
      a.prepared?.dataDir,
      a.prepared?.statsUri,
      a.tuning?.outDir,
      a.training?.modelDir,
      a.evaluation?.metricsUri,
    ];
    for (const uri of written.filter((u): u is string => u !== undefined))
      expect(uri.startsWith(`gs://${BUCKET}/runs/${d.state.runId}/`)).toBe(true);
  }
}

describe("fuzz: an event envelope and its data", () => {
  it("decodes into an event whose artifacts are its own run's, or is refused as malformed", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 3, arbitrary: mutatedEvent },
          { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
          { weight: 1, arbitrary: fc.string() },
        ),
        (data) => {
          let event: PipelineEvent;
          try {
            event = decodeEvent(data);
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedMessageError);
            return;
          }
          checkDecoded(event);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });
});

describe("fuzz: a retrigger message", () => {
  const body = fc.record(
    {
      runId: fc.oneof(fc.constant(ev.RUN), hostilePath),
      fromStep: fc.oneof(fc.constantFrom("prepare", "tune", "train", "evaluate", "register"), fc.string()),
      reason: fc.oneof(fc.string({ maxLength: 50 }), hostileNumber),
      requestedBy: fc.oneof(fc.string({ maxLength: 20 }), hostileNumber),
    },
    { requiredKeys: [] },
  );

  it("becomes a valid retrigger.requested the decision core handles, or is refused as malformed", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          body.map((b) => JSON.stringify(b)),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string(),
        ),
        fc.string(),
        (data, messageId) => {
          let event;
          try {
            event = decodeRetriggerRequest(data, messageId, "2026-01-01T00:00:00Z");
          } catch (err) {
            expect(err).toBeInstanceOf(MalformedMessageError);
            return;
          }
          expect(decodeEvent(JSON.stringify(event))).toEqual(event);
          for (const state of STATES)
            expect(["applied", "ignored", "rejected"]).toContain(decide(state, event, config).kind);
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });
});
