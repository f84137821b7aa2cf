// What every TypeScript job shares: exit codes, and the job.failed a permanent failure reports by itself.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NonRetryableJobError, runJob } from "../../gpu-jobs/common/job-runtime.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PrepareJobInput } from "../../schemas/job-input.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { RecordingBus } from "../support/fakes.ts";

const config = parseConfig({});
const input: PrepareJobInput = {
  step: "prepare",
  runId: "run-1",
  attempt: 2,
  correlationId: "run-1",
  runDir: "gs://local-bucket/runs/run-1",
  outDir: "gs://local-bucket/runs/run-1/prepare/a2",
  input: "gs://local-bucket/uploads/x.jsonl",
  sliceColumns: ["year"],
  data: config.data,
};

/** On Vertex (CLOUD_ML_JOB_ID set, as Vertex sets it) or as a local process. */
function deps(where: "vertex" | "local" = "vertex") {
  return {
    env: where === "vertex" ? { CLOUD_ML_JOB_ID: "1234567890" } : {},
    config,
    store: new LocalObjectStore("local-bucket", mkdtempSync(join(tmpdir(), "sp-jr-"))),
    bus: new RecordingBus(),
    log: new CapturingLogger(),
  };
}

describe("runJob", () => {
  it("reports a permanent failure as job.failed under the pipeline's job name and exits 3 locally", async () => {
    const d = deps("local");
    const code = await runJob(
      "prepare",
      inputToArgs(input).slice(1),
      () => Promise.reject(new NonRetryableJobError("0 valid rows")),
      d,
    );
    expect(code).toBe(3);
    expect(d.bus.ofType("job.failed")[0]).toMatchObject({
      runId: "run-1",
      attempt: 2,
      data: { step: "prepare", jobName: "sp-run-1-prepare-a2", error: "0 valid rows", retryable: false },
    });
  });

  it("on Vertex, exits 0 once the permanent failure is reported, so Vertex does not restart the worker", async () => {
    const d = deps("vertex");
    const code = await runJob(
      "prepare",
      inputToArgs(input).slice(1),
      () => Promise.reject(new NonRetryableJobError("0 valid rows")),
      d,
    );
    expect(code).toBe(0);
    expect(d.bus.ofType("job.failed")[0]?.data).toMatchObject({ retryable: false, exitCode: 3 });
    expect(d.log.at("ERROR")[0]!.labels).toMatchObject({
      runId: "run-1",
      step: "prepare",
      attempt: 2,
      vertexJobId: "1234567890",
    });
  });

  it("on Vertex, reports an unexpected error as a retryable job.failed and exits 0: the pipeline alone retries", async () => {
    const d = deps("vertex");
    const code = await runJob(
      "prepare",
      inputToArgs(input).slice(1),
      () => Promise.reject(new Error("disk full")),
      d,
    );
    expect(code).toBe(0);
    expect(d.bus.ofType("job.failed")[0]?.data).toMatchObject({
      jobName: "sp-run-1-prepare-a2",
      error: "disk full",
      retryable: true,
      exitCode: 1,
    });
  });

  it("on Vertex, keeps the non-zero exit when job.failed could not be published, so the failure is not lost", async () => {
    const d = deps("vertex");
    d.bus.failNext = 1;
    const code = await runJob(
      "prepare",
      inputToArgs(input).slice(1),
      () => Promise.reject(new NonRetryableJobError("0 valid rows")),
      d,
    );
    expect(code).toBe(3);
  });

  it("exits 1 without an event on an unexpected error locally, so the launcher's retry applies", async () => {
    const d = deps("local");
    expect(
      await runJob("prepare", inputToArgs(input).slice(1), () => Promise.reject(new Error("disk full")), d),
    ).toBe(1);
    expect(d.bus.events).toEqual([]);
  });

  it("exits 2 on arguments that do not parse, naming the flag", async () => {
    const d = deps();
    expect(await runJob("prepare", ["--attempt", "zero"], () => Promise.resolve(), d)).toBe(2);
    expect(d.log.at("ERROR")[0]!.message).toContain("--attempt");
  });
});
