// The Vertex job launcher through the official client against the local stand-in: create, find, describe, cancel, states.
import { describe, expect, it } from "vitest";
import { JobStateLogEntry, jobStateOf } from "../../events/job-state.ts";
import { VertexStandIn } from "../../emulator/vertex/server.ts";
import { VertexJobLauncher } from "../../platform/gcp/vertex-job-launcher.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { eventually, jobSpec, runsOf, standInWithLauncher } from "./vertex-stand-in-support.ts";

const t = standInWithLauncher();

describe("VertexJobLauncher over the stand-in", () => {
  it("creates one custom job per job name with its labels, output directory and Spot strategy", async () => {
    const spec = jobSpec("ok", { machine: { ...jobSpec("ok").machine, spot: true } });
    const first = await t.launcher.launch(spec);
    const second = await t.launcher.launch(spec);
    expect(first.created).toBe(true);
    expect(second).toEqual({ jobId: first.jobId, created: false });
    expect(t.h.standIn.jobs.createCalls.get(spec.jobName)).toBe(1);

    const [job] = await (await t.launcher.jobClient()).getCustomJob({ name: first.jobId });
    expect(job.displayName).toBe(spec.jobName);
    expect(job.labels).toMatchObject({ run_id: spec.runId, step: "train", attempt: "1" });
    expect(job.jobSpec?.baseOutputDirectory?.outputUriPrefix).toBe(spec.outputDir);
    expect(job.jobSpec?.scheduling?.strategy).toBe("SPOT");
    expect(job.jobSpec?.workerPoolSpecs?.[0]?.machineSpec).toMatchObject({
      machineType: "g2-standard-8",
      acceleratorType: "NVIDIA_L4",
      acceleratorCount: 1,
    });
  });

  it("runs worker pool 0 with the environment Vertex sets and ends SUCCEEDED", async () => {
    const spec = jobSpec("ok");
    const { jobId } = await t.launcher.launch(spec);
    const info = await eventually(
      async () => {
        const i = await t.launcher.describe(spec.jobName);
        return i?.state === "SUCCEEDED" ? i : null;
      },
      15_000,
      "the job to succeed",
    );
    expect(info).toMatchObject({ jobId, jobName: spec.jobName, error: null });
    const [run] = runsOf(t.h, jobId);
    expect(run?.env).toEqual({
      AIP_MODEL_DIR: `${spec.outputDir}/model/`,
      AIP_CHECKPOINT_DIR: `${spec.outputDir}/checkpoints/`,
      CLOUD_ML_JOB_ID: jobId.split("/").pop(),
      SP_MARK: "from-spec",
    });
    expect(run?.args).toEqual(["ok", "--run-id", spec.runId]);
    // The job's own id finds it too, as watch-jobs looks it up from a log entry's job_id.
    expect((await t.launcher.describe(jobId.split("/").pop()!))?.jobName).toBe(spec.jobName);
  });

  it("restarts a replica that exits non-zero 5 times, as Vertex does, then fails the job with Vertex's error", async () => {
    const spec = jobSpec("fail");
    const { jobId } = await t.launcher.launch(spec);
    const info = await eventually(
      async () => {
        const i = await t.launcher.describe(jobId);
        return i?.state === "FAILED" ? i : null;
      },
      30_000,
      "the job to fail",
    );
    expect(info.error).toMatch(/exited with a non-zero status of 1\b.*restarted 5 times/);
    // The first run and five restarts in place: a job that exits non-zero is not written off at once.
    expect(runsOf(t.h, jobId)).toHaveLength(6);
    const id = jobId.split("/").pop()!;
    const mine = await eventually(() => {
      const e = t.h.entries.filter((x) => x.resource.labels.job_id === id);
      return e.length >= 9 ? e : null;
    });
    for (const entry of mine)
      expect(JobStateLogEntry.safeParse(JSON.parse(JSON.stringify(entry))).success).toBe(true);
    const warnings = mine.filter((e) => e.severity === "WARNING").map((e) => e.textPayload ?? "");
    expect(warnings).toHaveLength(5);
    warnings.forEach((w, i) => expect(w).toMatch(new RegExp(`non-zero status of 1 .*restart ${i + 1}\\)`)));
    expect([...new Set(mine.map((e) => jobStateOf(e).state).filter((x) => x !== null))]).toEqual([
      "JOB_STATE_QUEUED",
      "JOB_STATE_PENDING",
      "JOB_STATE_RUNNING",
      "JOB_STATE_FAILED",
    ]);
    const last = mine.at(-1)!;
    expect(last).toMatchObject({
      logName: `projects/local-project/logs/ml.googleapis.com%2F${id}`,
      resource: { type: "ml_job", labels: { job_id: id, task_name: "service" } },
      severity: "ERROR",
      labels: { "ml.googleapis.com/job_state": "FAILED" },
      textPayload: "Job failed.",
    });
    // As Vertex's: text only, the job's name and error come from the job service.
    expect(last).not.toHaveProperty("jsonPayload");
  });

  it("cancels a running job, and cancelling it again is harmless", async () => {
    const spec = jobSpec("sleep");
    await t.launcher.launch(spec);
    await eventually(
      async () => (await t.launcher.describe(spec.jobName))?.state === "RUNNING",
      15_000,
      "the job to run",
    );
    await t.launcher.cancel(spec.jobName);
    await eventually(
      async () => (await t.launcher.describe(spec.jobName))?.state === "CANCELLED",
      15_000,
      "the job to be cancelled",
    );
    await expect(t.launcher.cancel(spec.jobName)).resolves.toBeUndefined();
    await expect(t.launcher.cancel("sp-never-launched-train-a1")).resolves.toBeUndefined();
  });

  it("describes an unknown job as null, by name and by id", async () => {
    expect(await t.launcher.describe("sp-unknown-run-train-a1")).toBeNull();
    expect(await t.launcher.describe("1234567890")).toBeNull();
  });

  it("starts one job when the same spec is launched many times at once", async () => {
    const spec = jobSpec("ok");
    const results = await Promise.all(Array.from({ length: 5 }, () => t.launcher.launch(spec)));
    expect(new Set(results.map((r) => r.jobId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(t.h.standIn.jobs.createCalls.get(spec.jobName)).toBe(1);
  });

  it("restarts a preempted replica in place, and the job resumes from its checkpoint", async () => {
    const spec = jobSpec("resume");
    const { jobId } = await t.launcher.launch(spec);
    const id = jobId.split("/").pop()!;
    await eventually(() => runsOf(t.h, jobId).length === 1, 15_000, "the first run");
    const admin = `http://127.0.0.1:${t.h.standIn.adminPort}`;
    const res = await fetch(`${admin}/jobs/${id}:preempt`, { method: "POST" });
    expect(res.status).toBe(202);
    const info = await eventually(
      async () => {
        const i = await t.launcher.describe(jobId);
        return i?.state === "SUCCEEDED" ? i : null;
      },
      15_000,
      "the resumed job to succeed",
    );
    expect(info.state).toBe("SUCCEEDED");
    expect(runsOf(t.h, jobId)).toHaveLength(2);
    const states = t.h.entries.filter((e) => e.resource.labels.job_id === id).map((e) => e.textPayload ?? "");
    expect(states.filter((m) => /preempted/.test(m))).toHaveLength(1);
    expect(states.filter((m) => m === "Job is running.")).toHaveLength(1);
  });

  it("restarts a replica that is killed (exit 137) in place, without a new job or a failed state", async () => {
    const spec = jobSpec("sleep");
    const { jobId } = await t.launcher.launch(spec);
    await eventually(() => runsOf(t.h, jobId).length === 1, 15_000, "the job to start");
    const res = await fetch(`http://127.0.0.1:${t.h.standIn.adminPort}/jobs/${spec.jobName}:kill`, {
      method: "POST",
    });
    expect(res.status).toBe(202);
    await eventually(() => runsOf(t.h, jobId).length === 2, 15_000, "the killed replica to restart");
    expect((await t.launcher.describe(jobId))?.state).toBe("RUNNING");
    const id = jobId.split("/").pop()!;
    expect(
      t.h.entries.filter(
        (e) => e.resource.labels.job_id === id && /non-zero status of 137/.test(e.textPayload ?? ""),
      ),
    ).toHaveLength(1);
    expect(t.h.standIn.jobs.createCalls.get(spec.jobName)).toBe(1);
    await t.launcher.cancel(spec.jobName);
    await eventually(
      async () => (await t.launcher.describe(jobId))?.state === "CANCELLED",
      15_000,
      "the cancel",
    );
  });

  it("fails at once, without restarts, a container whose command cannot start (one of Vertex's permanent errors)", async () => {
    const spec = jobSpec("ok", { imageUri: "us-docker.pkg.dev/elsewhere/images/unknown:1" });
    const { jobId } = await t.launcher.launch(spec);
    const info = await eventually(
      async () => {
        const i = await t.launcher.describe(jobId);
        return i?.state === "FAILED" ? i : null;
      },
      15_000,
      "the job to fail",
    );
    expect(info.error).toMatch(
      /non-zero status of 127\. Termination reason: the command could not be started/,
    );
    expect(info.error).not.toMatch(/restarted/);
  });
});

describe("closing the stand-in", () => {
  it("cancels a job still queued, so its provisioning never starts a replica after the stand-in closed", async () => {
    const started: string[] = [];
    const standIn = await VertexStandIn.start({
      launcher: {
        start: (spec) => {
          started.push(spec.jobId);
          return { pid: undefined, exited: new Promise(() => undefined), kill: () => undefined };
        },
      },
      log: new CapturingLogger(),
      port: 0,
      adminPort: null,
      provisionDelayMs: 300,
    });
    const launcher = new VertexJobLauncher({
      projectId: "local-project",
      region: "us-central1",
      endpoint: standIn.endpoint,
    });
    const { jobId } = await launcher.launch(jobSpec("ok"));
    expect((await launcher.describe(jobId))?.state).toBe("QUEUED");
    await launcher.close();
    await standIn.close();
    await new Promise((r) => setTimeout(r, 700));
    expect(started).toEqual([]);
    expect(standIn.jobs.all().map((j) => j.state)).toEqual(["JOB_STATE_CANCELLED"]);
  });
});
