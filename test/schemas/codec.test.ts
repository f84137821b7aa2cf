// Decoding at the edge: valid events round-trip; malformed bytes, unknown types and unsafe names are refused.
import { describe, expect, it } from "vitest";
import {
  decodeEvent,
  decodeEventOf,
  decodeRetriggerRequest,
  encodeEvent,
  MalformedMessageError,
} from "../../events/codec.ts";
import { jobName, ObjectName, parseJobName, parseGcsUri, RunId } from "../../schemas/names.ts";
import * as ev from "../support/events.ts";

describe("event codec", () => {
  it("round-trips every event of the chain with type, run and id as attributes", () => {
    for (const e of [
      ev.runStarted(),
      ev.dataPrepared(),
      ev.tuningCompleted(),
      ev.trainingCompleted(),
      ev.evaluationCompleted(),
      ev.modelRegistered(),
      ev.jobFailed("train", 2),
    ]) {
      const wire = encodeEvent(e);
      expect(wire.attributes).toEqual({ type: e.type, runId: e.runId, eventId: e.id });
      expect(decodeEvent(wire.data)).toEqual(e);
    }
  });

  it.each([
    ["not JSON", "{"],
    ["an unknown type", JSON.stringify({ ...ev.runStarted(), type: "run.exploded" })],
    ["a missing field", JSON.stringify({ ...ev.dataPrepared(), data: { dataDir: "x" } })],
    ["an attempt of zero", JSON.stringify({ ...ev.dataPrepared(), attempt: 0 })],
  ])("refuses %s as malformed", (_name, data) => {
    expect(() => decodeEvent(data)).toThrow(MalformedMessageError);
  });

  it("refuses an event of another type than the topic carries", () => {
    expect(() => decodeEventOf("data.prepared", JSON.stringify(ev.tuningCompleted()))).toThrow(
      /invalid data.prepared event/,
    );
  });

  it("turns a plain retrigger body into an event keyed by the message id", () => {
    const body = JSON.stringify({ runId: ev.RUN, fromStep: "train", reason: "new labels" });
    const a = decodeRetriggerRequest(body, "123", "2026-01-01T00:00:00Z");
    expect(a).toMatchObject({
      id: "msg-123".padEnd(8, "0"),
      type: "retrigger.requested",
      runId: ev.RUN,
      data: { fromStep: "train", reason: "new labels" },
    });
    expect(decodeRetriggerRequest(body, "123").id).toBe(a.id);
  });
});

describe("names that reach paths and URIs", () => {
  it.each(["../x", "a/../../b", "/etc/passwd", "a\\b", "a/./b", "bad\u0000name"])(
    "refuses the object name %j",
    (name) => {
      expect(ObjectName.safeParse(name).success).toBe(false);
    },
  );

  it.each(["ok-run-1", "abc"])("accepts the run id %j", (id) =>
    expect(RunId.safeParse(id).success).toBe(true),
  );
  it.each(["UPPER", "a_b", "a", "-lead", "x".repeat(64), "../up"])("refuses the run id %j", (id) =>
    expect(RunId.safeParse(id).success).toBe(false),
  );

  it("refuses a gs:// URI whose object would escape", () => {
    expect(() => parseGcsUri("gs://bucket/runs/../../x")).toThrow(/'\.\.'/);
  });

  it("parses the job names it makes, and nothing else", () => {
    expect(parseJobName(jobName("run-1", "evaluate", 3))).toEqual({
      runId: "run-1",
      step: "evaluate",
      attempt: 3,
    });
    expect(parseJobName("sp-run-1-deploy-a1")).toBeNull();
  });
});
