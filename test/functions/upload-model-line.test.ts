// An upload names its model line in its `model-line` custom metadata: start-run carries it into the run, which fixes it
// when training completes, ahead of the config's line; a name that is not a line rejects the upload, kept with why.
import { describe, expect, it } from "vitest";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { registerFunctions, ENTRY_POINTS } from "../../functions/register.ts";
import { decide } from "../../functions/core/decide.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { RunState } from "../../schemas/run-state.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { makeEvent } from "../../events/codec.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, MemoryRegistry, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import { post, uploadNotification } from "../support/cloud-events.ts";
import * as ev from "../support/events.ts";

const config = parseConfig({ runtime: { bucket: "reviews-bucket", projectId: "test-project" } });
let n = 0;

function startRun() {
  const prefix = `ml${++n}_`;
  const bus = new RecordingBus();
  const deadLetters = new MemoryDeadLetters();
  const log = new CapturingLogger();
  registerFunctions(
    {
      config,
      store: new LocalObjectStore("reviews-bucket", mkdtempSync(join(tmpdir(), "sp-line-"))),
      bus,
      launcher: new RecordingLauncher(),
      ledger: new MemoryRunLedger(),
      registry: new MemoryRegistry(),
      log,
      deadLetters,
      clock: { now: () => new Date("2026-05-01T00:00:00Z") },
    },
    prefix,
  );
  const server = getTestServer(`${prefix}${ENTRY_POINTS["start-run"]}`);
  const upload = (metadata?: Record<string, string>) =>
    post(
      server,
      uploadNotification("reviews-bucket", "uploads/books.jsonl", "9", "2026-05-01T00:00:00Z", metadata),
    );
  return { bus, deadLetters, log, upload, server };
}

describe("start-run and an upload's model-line metadata", () => {
  it("carries the line the upload names into run.started", async () => {
    const w = startRun();
    expect(await w.upload({ "model-line": "books-3class", other: "kept out" })).toBe(204);
    expect(w.bus.ofType("run.started")[0]!.data.modelLine).toBe("books-3class");
    expect(w.deadLetters.kept).toEqual([]);
  });

  it("reads the key in any case, as x-goog-meta- headers are case-insensitive", async () => {
    const w = startRun();
    await w.upload({ "Model-Line": "books-3class" });
    expect(w.bus.ofType("run.started")[0]!.data.modelLine).toBe("books-3class");
  });

  it("starts a run without a line when the upload names none", async () => {
    const w = startRun();
    await w.upload({ owner: "ana" });
    expect(w.bus.ofType("run.started")[0]!.data).not.toHaveProperty("modelLine");
  });

  it("says the line cannot be read when the notification carries no payload, and starts the run on the config's line", async () => {
    const w = startRun();
    const push = uploadNotification("reviews-bucket", "uploads/books.jsonl", "9", "2026-05-01T00:00:00Z");
    push.data.message.attributes = { ...push.data.message.attributes, payloadFormat: "NONE" };
    push.data.message.data = "";
    expect(await post(w.server, push)).toBe(204);
    expect(w.bus.ofType("run.started")[0]!.data).not.toHaveProperty("modelLine");
    expect(w.log.at("WARNING")[0]!.message).toContain(
      "payload format NONE), so its model-line metadata cannot be read; the config's model line applies",
    );
  });

  it("rejects an upload whose line is not a model line, keeping it with a reason that names the object and the field", async () => {
    const w = startRun();
    expect(await w.upload({ "model-line": "Books_3Class" })).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept).toHaveLength(1);
    const [letter] = w.deadLetters.kept;
    expect(letter).toMatchObject({
      source: "upload-notifications",
      attributes: { objectId: "uploads/books.jsonl", objectGeneration: "9" },
    });
    expect(letter!.reason).toMatch(
      /^upload gs:\/\/reviews-bucket\/uploads\/books\.jsonl#9: custom metadata "model-line" is "Books_3Class", not a model line: a model line is lower-case/,
    );
    expect(letter!.reason).toContain("no run started");
    expect(w.log.at("ERROR")[0]!.message).toContain('custom metadata "model-line"');
  });

  it("rejects a line too long to name a registry model", async () => {
    const w = startRun();
    await w.upload({ "model-line": `b${"x".repeat(60)}` });
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept[0]!.reason).toContain("at most 40 characters");
  });

  it("rejects an upload whose metadata names two different lines in two cases of the key", async () => {
    const w = startRun();
    await w.upload({ "model-line": "books-3class", "MODEL-LINE": "toys-3class" });
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept[0]!.reason).toMatch(
      /name different model lines \("books-3class", "toys-3class"\)/,
    );
  });
});

/** Applies events in order from no state, as advance-run does; the state after the last. */
function replay(events: PipelineEvent[], cfg: PipelineConfig): RunState {
  let state: RunState | null = null;
  for (const e of events) {
    const d = decide(state, e, cfg);
    if (d.kind !== "applied") throw new Error(`${e.type}: ${d.kind} ${"reason" in d ? d.reason : ""}`);
    state = d.state;
  }
  return state!;
}

function startedWith(modelLine?: string): PipelineEvent {
  const base = ev.runStarted();
  return makeEvent(
    "run.started",
    { id: base.id, runId: base.runId, attempt: 1, time: base.time },
    { ...base.data, ...(modelLine ? { modelLine } : {}) },
  );
}

const trained = (started: PipelineEvent) => [
  started,
  ev.dataPrepared(),
  ev.tuningCompleted(),
  ev.trainingCompleted(),
];

describe("the line a run's model joins", () => {
  const configured = parseConfig({ training: { modelLine: "configured-line" } });

  it("is the upload's line, ahead of the config's training.modelLine", () => {
    const state = replay(trained(startedWith("books-3class")), configured);
    expect(state.modelLine).toBe("books-3class");
    expect(state.trail[0]!.decision).toContain(
      "for model line books-3class (the upload's model-line metadata)",
    );
    expect(state.trail.at(-1)!.decision).toContain("(model line books-3class)");
  });

  it("is the config's line when the upload names none", () => {
    expect(replay(trained(startedWith()), configured).modelLine).toBe("configured-line");
  });

  it("is the trained base model's default line when neither names one", () => {
    expect(replay(trained(startedWith()), parseConfig({})).modelLine).toBe("bert-base-uncased-3class");
  });
});
