// A data-parallel training as Vertex's v1 API expects it: the chief alone in pool 0, workers in pool 1, and the stand-in running them all.
import { describe, expect, it } from "vitest";
import { customJobOf } from "../../platform/gcp/vertex-job-launcher.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { eventually, jobSpec, runsOf, standInWithLauncher } from "./vertex-stand-in-support.ts";

const MULTI_GPU = {
  machineType: "g2-standard-48",
  acceleratorType: "NVIDIA_L4",
  acceleratorCount: 4,
  replicaCount: 2,
};

describe("the custom job of a multi-GPU, multi-replica training", () => {
  const config = parseConfig({ machines: { train: MULTI_GPU } });

  it("has pool 0 with the chief alone and pool 1 with the other replica, each with 4 GPUs", () => {
    const spec = jobSpec("ok", { machine: config.machines.train });
    const job = customJobOf(spec);
    const machineSpec = { machineType: "g2-standard-48", acceleratorType: "NVIDIA_L4", acceleratorCount: 4 };
    const container = {
      imageUri: spec.imageUri,
      args: spec.args,
      env: [{ name: "SP_MARK", value: "from-spec" }],
    };
    const disk = { bootDiskType: "pd-ssd", bootDiskSizeGb: 100 };
    expect(job.jobSpec?.workerPoolSpecs).toEqual([
      { machineSpec, replicaCount: 1, diskSpec: disk, containerSpec: container },
      { machineSpec, replicaCount: 1, diskSpec: disk, containerSpec: container },
    ]);
    // One worker lost means the group must start again from the chief's checkpoint: Vertex restarts them all.
    expect(job.jobSpec?.scheduling).toEqual({
      timeout: { seconds: config.machines.train.timeoutSeconds },
      strategy: "STANDARD",
      restartJobOnWorkerRestart: true,
    });
  });

  it("puts N - 1 replicas in pool 1, and keeps one pool for a single machine", () => {
    const four = customJobOf(jobSpec("ok", { machine: { ...config.machines.train, replicaCount: 4 } }));
    expect(four.jobSpec?.workerPoolSpecs?.map((p) => p.replicaCount)).toEqual([1, 3]);
    const one = customJobOf(jobSpec("ok", { machine: { ...config.machines.train, replicaCount: 1 } }));
    expect(one.jobSpec?.workerPoolSpecs).toHaveLength(1);
    expect(one.jobSpec?.scheduling).not.toHaveProperty("restartJobOnWorkerRestart");
  });

  it("refuses several replicas for a step that is not data-parallel, naming the field", () => {
    expect(() =>
      parseConfig({ machines: { tune: { machineType: "g2-standard-8", replicaCount: 2 } } }),
    ).toThrow(/machines\.tune\.replicaCount must be 1/);
    expect(() => parseConfig({ machines: { train: { ...MULTI_GPU, replicaCount: 0 } } })).toThrow(
      /replicaCount/,
    );
  });
});

describe("the stand-in running a two-replica job", () => {
  const t = standInWithLauncher();

  const clusterSpecs = (jobId: string): Array<Record<string, unknown>> =>
    runsOf(t.h, jobId).map((r) => JSON.parse(r.cluster) as Record<string, unknown>);

  it("starts both replicas with CLUSTER_SPEC naming the chief and the worker, and succeeds when both do", async () => {
    const spec = jobSpec("ok", { machine: { ...jobSpec("ok").machine, replicaCount: 2 } });
    const { jobId } = await t.launcher.launch(spec);
    await eventually(
      async () => ((await t.launcher.describe(spec.jobName))?.state === "SUCCEEDED" ? true : null),
      15_000,
      "the job to succeed",
    );
    const specs = clusterSpecs(jobId);
    expect(
      specs.map((s) => s.task).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([
      { type: "workerpool0", index: 0 },
      { type: "workerpool1", index: 0 },
    ]);
    const cluster = specs[0]!.cluster as Record<string, string[]>;
    expect(Object.keys(cluster)).toEqual(["workerpool0", "workerpool1"]);
    expect(cluster.workerpool0).toHaveLength(1);
    expect(cluster.workerpool1).toHaveLength(1);
    expect(specs[1]!.cluster).toEqual(cluster);
  });

  it("fails the job, naming the worker, when a worker keeps failing", async () => {
    const spec = jobSpec("fail", { machine: { ...jobSpec("fail").machine, replicaCount: 2 } });
    await t.launcher.launch(spec);
    const info = await eventually(
      async () => {
        const i = await t.launcher.describe(spec.jobName);
        return i?.state === "FAILED" ? i : null;
      },
      30_000,
      "the job to fail",
    );
    expect(info.error).toMatch(/The replica workerpool\d-0 exited with a non-zero status of 1/);
  });
});
