// Function tests through functions-framework's test server: 2xx and effects for valid events, dead letters for
// malformed ones, 500 for transient failures.
import { beforeEach, describe, expect, it } from "vitest";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { registerFunctions, ENTRY_POINTS, type FunctionDeps } from "../../functions/register.ts";
import { deriveRunId } from "../../functions/start-run.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../schemas/load-config.ts";
import type { RunLedger } from "../../platform/ports/run-ledger.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, MemoryRegistry, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import { eventPush, post, pubsubPush, uploadNotification } from "../support/cloud-events.ts";
import * as ev from "../support/events.ts";

const config = parseConfig({ runtime: { bucket: "reviews-bucket", projectId: "test-project" } });

let n = 0;
interface World {
  deps: FunctionDeps;
  bus: RecordingBus;
  launcher: RecordingLauncher;
  ledger: MemoryRunLedger;
  log: CapturingLogger;
  deadLetters: MemoryDeadLetters;
  server: (fn: keyof typeof ENTRY_POINTS) => ReturnType<typeof getTestServer>;
}

function world(ledgerOverride?: RunLedger): World {
  const prefix = `t${++n}_`;
  const bus = new RecordingBus();
  const launcher = new RecordingLauncher();
  const ledger = new MemoryRunLedger();
  const log = new CapturingLogger();
  const deadLetters = new MemoryDeadLetters();
  const deps: FunctionDeps = {
    config,
    store: new LocalObjectStore("reviews-bucket", mkdtempSync(join(tmpdir(), "sp-fn-"))),
    bus,
    launcher,
    ledger: ledgerOverride ?? ledger,
    registry: new MemoryRegistry(),
    log,
    deadLetters,
    clock: { now: () => new Date("2026-05-01T00:00:00Z") },
  };
  registerFunctions(deps, prefix);
  return {
    deps,
    bus,
    launcher,
    ledger,
    log,
    deadLetters,
    server: (fn) => getTestServer(`${prefix}${ENTRY_POINTS[fn]}`),
  };
}

let w: World;
beforeEach(() => {
  w = world();
});

describe("start-run", () => {
  it("starts a run for a file finalized under uploads/, its id derived from bucket, name and generation", async () => {
    expect(
      await post(
        w.server("start-run"),
        uploadNotification("reviews-bucket", "uploads/Spring Sale.jsonl.gz", "17"),
      ),
    ).toBe(204);
    const [started] = w.bus.ofType("run.started");
    const runId = deriveRunId("reviews-bucket", "uploads/Spring Sale.jsonl.gz", "17");
    expect(runId).toMatch(/^spring-sale-[0-9a-f]{10}$/);
    expect(started).toMatchObject({
      runId,
      id: `started-${runId}`,
      data: { input: "gs://reviews-bucket/uploads/Spring Sale.jsonl.gz" },
    });
  });

  it("publishes the same event for a duplicate notification, so the run starts once", async () => {
    const event = uploadNotification("reviews-bucket", "uploads/a.csv", "5");
    await post(w.server("start-run"), event);
    await post(w.server("start-run"), { ...event, id: "redelivered" });
    const [a, b] = w.bus.ofType("run.started");
    expect(a!.id).toBe(b!.id);
  });

  it("gives a re-upload of the same name a new run", () => {
    expect(deriveRunId("b", "uploads/a.csv", "1")).not.toBe(deriveRunId("b", "uploads/a.csv", "2"));
  });

  it("ignores objects outside uploads/ and folder placeholders", async () => {
    expect(await post(w.server("start-run"), uploadNotification("reviews-bucket", "runs/x/state.json"))).toBe(
      204,
    );
    expect(await post(w.server("start-run"), uploadNotification("reviews-bucket", "uploads/"))).toBe(204);
    expect(w.bus.events).toEqual([]);
  });

  it("acknowledges, logs at ERROR and keeps a dead letter for an object name that climbs out of its folder", async () => {
    expect(
      await post(w.server("start-run"), uploadNotification("reviews-bucket", "uploads/../runs/x.jsonl")),
    ).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.log.at("ERROR")[0]!.message).toMatch(/unsafe object name .*'\.\.'/);
    expect(w.deadLetters.kept[0]).toMatchObject({
      source: "upload-notifications",
      reason: expect.stringContaining("unsafe object name"),
    });
  });

  it("ignores notifications of other event types, which only a notification set up without OBJECT_FINALIZE sends", async () => {
    const push = uploadNotification("reviews-bucket", "uploads/b.jsonl", "9");
    push.data.message.attributes = { ...push.data.message.attributes, eventType: "OBJECT_DELETE" };
    expect(await post(w.server("start-run"), push)).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept).toEqual([]);
  });

  it("keeps a notification without the attributes Cloud Storage sets as a dead letter naming what is missing", async () => {
    const object = { bucket: "reviews-bucket", name: "uploads/b.jsonl", generation: "9" };
    const status = await post(
      w.server("start-run"),
      pubsubPush(JSON.stringify(object), { eventType: "OBJECT_FINALIZE" }, "upload-notifications"),
    );
    expect(status).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept[0]).toMatchObject({
      source: "upload-notifications",
      reason: expect.stringMatching(/payloadFormat.*|bucketId/),
    });
  });

  it("refuses a payload that names another object than its attributes", async () => {
    const push = uploadNotification("reviews-bucket", "uploads/b.jsonl", "9");
    push.data.message.attributes = { ...push.data.message.attributes, objectId: "uploads/c.jsonl" };
    expect(await post(w.server("start-run"), push)).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.deadLetters.kept[0]!.reason).toContain(
      "its payload names gs://reviews-bucket/uploads/b.jsonl#9",
    );
  });

  it("acknowledges a notification older than the cutoff and keeps a dead letter that names the upload", async () => {
    // The world's clock reads 2026-05-01T00:00:00Z; the cutoff is an hour by default.
    const stale = uploadNotification("reviews-bucket", "uploads/old.jsonl", "4", "2026-04-30T22:00:00Z");
    expect(await post(w.server("start-run"), stale)).toBe(204);
    expect(w.bus.events).toEqual([]);
    expect(w.log.at("ERROR")[0]!.message).toContain("gs://reviews-bucket/uploads/old.jsonl#4");
    expect(w.deadLetters.kept[0]).toMatchObject({
      source: "upload-notifications",
      attributes: { objectId: "uploads/old.jsonl", bucketId: "reviews-bucket" },
      reason: expect.stringMatching(
        /^upload gs:\/\/reviews-bucket\/uploads\/old\.jsonl#4 .*7200 s ago.*3600 s cutoff/,
      ),
    });
    // Within the cutoff the same upload starts its run.
    const fresh = uploadNotification("reviews-bucket", "uploads/old.jsonl", "4", "2026-04-30T23:30:00Z");
    expect(await post(w.server("start-run"), fresh)).toBe(204);
    expect(w.bus.ofType("run.started")).toHaveLength(1);
  });

  it("answers 500 when the run cannot be started, naming the upload, so Pub/Sub redelivers it", async () => {
    w.bus.failNext = 1;
    const push = uploadNotification("reviews-bucket", "uploads/x.jsonl", "3", "2026-04-30T23:59:00Z");
    expect(await post(w.server("start-run"), push)).toBe(500);
    expect(w.deadLetters.kept).toEqual([]);
  });
});

describe("advance-run", () => {
  it("creates the run and launches its prepare job on run.started", async () => {
    expect(await post(w.server("advance-run"), eventPush(ev.runStarted()))).toBe(204);
    expect(w.launcher.specs.map((s) => s.jobName)).toEqual([`sp-${ev.RUN}-prepare-a1`]);
    expect((await w.ledger.get(ev.RUN))!.state.steps.prepare.status).toBe("running");
    expect((await w.ledger.get(ev.RUN))!.state.outbox).toEqual([]);
  });

  it("launches each attempt once when an event is delivered twice", async () => {
    const started = eventPush(ev.runStarted());
    await post(w.server("advance-run"), started);
    await post(w.server("advance-run"), started);
    expect(w.launcher.specs).toHaveLength(1);
  });

  it.each([
    ["bytes that are not JSON", pubsubPush("{not json")],
    ["JSON that is no pipeline event", pubsubPush(JSON.stringify({ hello: "world" }))],
    [
      "an event whose run id would escape its folder",
      eventPushRaw({ ...ev.dataPrepared(), runId: "../../etc" }),
    ],
    [
      "a push without a message",
      {
        specversion: "1.0",
        id: "x",
        type: "google.cloud.pubsub.topic.v1.messagePublished",
        source: "s",
        data: { nope: 1 },
      },
    ],
  ])("acknowledges %s, logs it at ERROR and keeps it as a dead letter", async (_name, cloudEvent) => {
    expect(await post(w.server("advance-run"), cloudEvent)).toBe(204);
    expect(w.log.at("ERROR")).toHaveLength(1);
    expect(w.deadLetters.kept).toHaveLength(1);
    expect(w.deadLetters.kept[0]!.reason).toMatch(/invalid|not JSON|not a Pub\/Sub push/);
    expect(w.launcher.specs).toEqual([]);
  });

  it("keeps a malformed message beside the topic it came from, so the cloud routes it to that topic's dead-letter topic", async () => {
    await post(w.server("advance-run"), pubsubPush("{", {}, "training-completed"));
    expect(w.deadLetters.kept[0]!.source).toBe("training-completed");
  });

  it("answers 500 on a transient failure, so Pub/Sub redelivers, and launches once on the redelivery", async () => {
    const failing = world({
      ...new MemoryRunLedger(),
      get: () => Promise.reject(new Error("storage unavailable")),
      create: () => Promise.resolve(false),
      compareAndSwap: () => Promise.resolve(false),
      list: () => Promise.resolve([]),
    });
    expect(await post(failing.server("advance-run"), eventPush(ev.runStarted()))).toBe(500);
    expect(failing.deadLetters.kept).toEqual([]);

    w.bus.failNext = 0;
    const started = eventPush(ev.runStarted());
    w.launcher.launch = () => Promise.reject(new Error("Vertex AI unavailable"));
    expect(await post(w.server("advance-run"), started)).toBe(500);
    expect((await w.ledger.get(ev.RUN))!.state.outbox).toHaveLength(1);
    w.launcher.launch = RecordingLauncher.prototype.launch.bind(w.launcher);
    expect(await post(w.server("advance-run"), started)).toBe(204);
    expect(w.launcher.specs).toHaveLength(1);
    expect((await w.ledger.get(ev.RUN))!.state.outbox).toEqual([]);
  });
});

function eventPushRaw(event: object) {
  return pubsubPush(JSON.stringify(event));
}

describe("retrigger-run", () => {
  it("restarts a run from the requested step on a plain request body", async () => {
    await post(w.server("advance-run"), eventPush(ev.runStarted()));
    await post(w.server("advance-run"), eventPush(ev.inBucket(ev.dataPrepared(), "reviews-bucket")));
    const body = JSON.stringify({
      runId: ev.RUN,
      fromStep: "prepare",
      reason: "fixed the upload",
      requestedBy: "ana",
    });
    expect(await post(w.server("retrigger-run"), pubsubPush(body, {}, "retrigger-requests"))).toBe(204);
    const state = (await w.ledger.get(ev.RUN))!.state;
    expect(state.steps.prepare.attempt).toBe(2);
    expect(w.launcher.cancelled).toEqual([`sp-${ev.RUN}-tune-a1`]);
    expect(w.bus.ofType("run.retriggered")[0]!.data).toMatchObject({ from: "prepare", reason: "manual" });
  });

  it("rejects a retrigger of an unknown run: logged at ERROR, kept, nothing changed", async () => {
    const body = JSON.stringify({ runId: "no-such-run", fromStep: "train", reason: "why not" });
    expect(await post(w.server("retrigger-run"), pubsubPush(body, {}, "retrigger-requests"))).toBe(204);
    expect(w.deadLetters.kept[0]!.reason).toBe("unknown run no-such-run");
    expect(
      w.log
        .at("ERROR")
        .map((e) => e.message)
        .join("\n"),
    ).toContain("unknown run no-such-run");
    expect(await w.ledger.list()).toEqual([]);
  });

  it("rejects an unknown step with the allowed ones named", async () => {
    const body = JSON.stringify({ runId: ev.RUN, fromStep: "deploy", reason: "x" });
    expect(await post(w.server("retrigger-run"), pubsubPush(body, {}, "retrigger-requests"))).toBe(204);
    expect(w.deadLetters.kept[0]!.reason).toMatch(
      /fromStep: .*"prepare"\|"tune"\|"train"\|"evaluate"\|"register"/,
    );
  });

  it("dedupes a redelivered request by its message id", async () => {
    await post(w.server("advance-run"), eventPush(ev.runStarted()));
    const push = pubsubPush(
      JSON.stringify({ runId: ev.RUN, fromStep: "prepare", reason: "again" }),
      {},
      "retrigger-requests",
    );
    await post(w.server("retrigger-run"), push);
    await post(w.server("retrigger-run"), push);
    expect((await w.ledger.get(ev.RUN))!.state.budgets.manualRetriggersUsed).toBe(1);
  });
});

describe("watch-jobs", () => {
  /** What the stand-in writes: the LogEntry Vertex writes, with the state and name added as structured hints. */
  const entry = (jobId: string, state: string, displayName?: string) =>
    JSON.stringify({
      logName: `projects/test-project/logs/ml.googleapis.com%2F${jobId}`,
      resource: {
        type: "ml_job",
        labels: { job_id: jobId, project_id: "test-project", task_name: "service" },
      },
      severity: state === "JOB_STATE_FAILED" ? "ERROR" : "INFO",
      timestamp: "2026-05-01T00:00:00.123456Z",
      jsonPayload: {
        message: "Job state changed.",
        state,
        ...(displayName ? { jobDisplayName: displayName } : {}),
      },
    });

  it("turns a failed pipeline job into job.failed for its run, step and attempt", async () => {
    expect(
      await post(
        w.server("watch-jobs"),
        pubsubPush(entry("123", "JOB_STATE_FAILED", `sp-${ev.RUN}-train-a2`), {}, "job-states"),
      ),
    ).toBe(204);
    expect(w.bus.ofType("job.failed")[0]).toMatchObject({
      runId: ev.RUN,
      attempt: 2,
      data: { step: "train", retryable: true, state: "FAILED" },
    });
  });

  it("reads Vertex's own text-only entry and asks the job service for the job", async () => {
    w.launcher.infos.set("789", {
      jobId: "789",
      jobName: `sp-${ev.RUN}-evaluate-a1`,
      state: "FAILED",
      labels: {},
      error: "OOM",
    });
    const text = JSON.stringify({
      logName: "projects/test-project/logs/ml.googleapis.com%2F789",
      resource: {
        type: "ml_job",
        labels: { job_id: "789", project_id: "test-project", task_name: "service" },
      },
      severity: "ERROR",
      timestamp: "2026-05-01T00:00:00Z",
      textPayload: "Job failed.",
    });
    await post(w.server("watch-jobs"), pubsubPush(text, {}, "job-states"));
    expect(w.bus.ofType("job.failed")[0]).toMatchObject({
      attempt: 1,
      data: { step: "evaluate", error: "OOM" },
    });
  });

  it("looks the job up when the entry lacks its name", async () => {
    w.launcher.infos.set("456", {
      jobId: "456",
      jobName: `sp-${ev.RUN}-tune-a1`,
      state: "CANCELLED",
      labels: {},
      error: "preempted",
    });
    await post(w.server("watch-jobs"), pubsubPush(entry("456", "JOB_STATE_CANCELLED"), {}, "job-states"));
    expect(w.bus.ofType("job.failed")[0]).toMatchObject({
      attempt: 1,
      data: { step: "tune", error: "preempted" },
    });
  });

  it("ignores running and succeeded jobs and jobs that are not the pipeline's", async () => {
    await post(
      w.server("watch-jobs"),
      pubsubPush(entry("1", "JOB_STATE_RUNNING", `sp-${ev.RUN}-train-a1`), {}, "job-states"),
    );
    await post(
      w.server("watch-jobs"),
      pubsubPush(entry("2", "JOB_STATE_SUCCEEDED", `sp-${ev.RUN}-train-a1`), {}, "job-states"),
    );
    await post(
      w.server("watch-jobs"),
      pubsubPush(entry("3", "JOB_STATE_FAILED", "someone-elses-job"), {}, "job-states"),
    );
    expect(w.bus.events).toEqual([]);
  });

  /** Real Vertex's service entry: the message as text and the state in a label, nothing structured. */
  const vertexEntry = (jobId: string, text: string, state?: string) =>
    JSON.stringify({
      insertId: "1x2y3z",
      logName: `projects/test-project/logs/ml.googleapis.com%2F${jobId}`,
      resource: {
        type: "ml_job",
        labels: { job_id: jobId, project_id: "test-project", task_name: "service" },
      },
      severity: text === "Job failed." ? "ERROR" : "INFO",
      timestamp: "2026-05-01T00:00:00.123456789Z",
      ...(state ? { labels: { "ml.googleapis.com/job_state": state } } : {}),
      textPayload: text,
    });

  it("writes off a job Vertex failed after restarting its replica: job.failed that the pipeline must not retry", async () => {
    w.launcher.infos.set("901", {
      jobId: "901",
      jobName: `sp-${ev.RUN}-train-a1`,
      state: "FAILED",
      labels: {},
      error: "The replica workerpool0-0 exited with a non-zero status of 137. Termination reason: OOMKilled.",
    });
    expect(
      await post(
        w.server("watch-jobs"),
        pubsubPush(vertexEntry("901", "Job failed.", "FAILED"), {}, "job-states"),
      ),
    ).toBe(204);
    expect(w.bus.ofType("job.failed")[0]).toMatchObject({
      attempt: 1,
      data: { step: "train", retryable: false, state: "FAILED" },
    });
  });

  it("answers 500 when the log says a job ended before the job service shows it, and acts on the redelivery", async () => {
    const info = {
      jobId: "902",
      jobName: `sp-${ev.RUN}-tune-a1`,
      state: "RUNNING" as const,
      labels: {},
      error: null,
    };
    w.launcher.infos.set("902", info);
    const push = pubsubPush(vertexEntry("902", "Job was cancelled."), {}, "job-states");
    expect(await post(w.server("watch-jobs"), push)).toBe(500);
    expect(w.bus.events).toEqual([]);
    w.launcher.infos.set("902", { ...info, state: "CANCELLED" });
    expect(await post(w.server("watch-jobs"), push)).toBe(204);
    expect(w.bus.ofType("job.failed")[0]).toMatchObject({
      data: { step: "tune", retryable: true, state: "CANCELLED" },
    });
  });

  it("keeps an entry that names no job as a dead letter", async () => {
    await post(
      w.server("watch-jobs"),
      pubsubPush(
        JSON.stringify({
          logName: "projects/p/logs/x",
          timestamp: "2026-05-01T00:00:00Z",
          resource: { type: "ml_job", labels: {} },
        }),
        {},
        "job-states",
      ),
    );
    expect(w.deadLetters.kept[0]!.reason).toContain("resource.labels.job_id is required");
  });
});

describe("reconcile-runs", () => {
  it("takes Cloud Scheduler's tick and checks the running runs", async () => {
    expect(await post(w.server("reconcile-runs"), pubsubPush("{}", {}, "reconcile-ticks"))).toBe(204);
    expect(w.deadLetters.kept).toEqual([]);
    expect(w.log.at("INFO").some((e) => /reconcile-runs: 0 run\(s\)/.test(e.message))).toBe(true);
  });

  it("keeps a message that is not a tick as a dead letter and does nothing", async () => {
    expect(
      await post(w.server("reconcile-runs"), pubsubPush('{"fromStep":"train"}', {}, "reconcile-ticks")),
    ).toBe(204);
    expect(w.deadLetters.kept[0]!.reason).toMatch(/reconcile tick/);
    expect(w.log.at("INFO").some((e) => /reconcile-runs: \d+ run/.test(e.message))).toBe(false);
  });
});

describe("advance-run and artifact URIs", () => {
  it("keeps an event naming another bucket's folder as a dead letter, and the run waits for its own", async () => {
    await post(w.server("advance-run"), eventPush(ev.runStarted()));
    expect(await post(w.server("advance-run"), eventPush(ev.dataPrepared()))).toBe(204);
    expect(w.deadLetters.kept).toHaveLength(1);
    expect(w.deadLetters.kept[0]!.reason).toMatch(
      /data\.dataDir is in bucket local-bucket, not the pipeline's bucket reviews-bucket/,
    );
    expect(w.launcher.specs.map((s) => s.step)).toEqual(["prepare"]);
    expect(
      await post(w.server("advance-run"), eventPush(ev.inBucket(ev.dataPrepared(), "reviews-bucket"))),
    ).toBe(204);
    expect(w.launcher.specs.map((s) => s.step)).toEqual(["prepare", "tune"]);
  });
});
