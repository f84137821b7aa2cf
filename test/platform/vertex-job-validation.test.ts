// The stand-in refuses the custom jobs Vertex AI's v1 API refuses, through the official client: machines, labels, images.
import { describe, expect, it } from "vitest";
import { customJobOf } from "../../platform/gcp/vertex-job-launcher.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { jobSpec, standInWithLauncher } from "./vertex-stand-in-support.ts";

const t = standInWithLauncher();
const parent = "projects/local-project/locations/us-central1";

type Job = ReturnType<typeof customJobOf>;

async function create(change: (job: Job) => void): Promise<unknown> {
  const job = customJobOf(jobSpec("ok"));
  change(job);
  const [created] = await (await t.launcher.jobClient()).createCustomJob({ parent, customJob: job });
  return created;
}

const machine = (job: Job) => job.jobSpec!.workerPoolSpecs![0]!;

describe("the Vertex stand-in's CreateCustomJob checks", () => {
  it("refuses an accelerator the machine type does not take", async () => {
    await expect(
      create(
        (j) =>
          (machine(j).machineSpec = {
            machineType: "g2-standard-8",
            acceleratorType: "NVIDIA_TESLA_T4",
            acceleratorCount: 1,
          }),
      ),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/g2-standard-8.*requires exactly 1 x NVIDIA_L4/) as unknown,
    });
    await expect(
      create(
        (j) =>
          (machine(j).machineSpec = {
            machineType: "n2-standard-4",
            acceleratorType: "NVIDIA_L4",
            acceleratorCount: 1,
          }),
      ),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/not supported for machine type "n2-standard-4"/) as unknown,
    });
    await expect(
      create(
        (j) =>
          (machine(j).machineSpec = {
            machineType: "n1-standard-8",
            acceleratorType: "NVIDIA_TESLA_T4",
            acceleratorCount: 3,
          }),
      ),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/3 x NVIDIA_TESLA_T4 is not supported/) as unknown,
    });
  });

  it("refuses a machine type it does not know", async () => {
    await expect(
      create((j) => (machine(j).machineSpec = { machineType: "n1-standard-3" })),
    ).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/Machine type "n1-standard-3" is not supported/) as unknown,
    });
  });

  it("accepts the pairs Vertex offers", async () => {
    for (const spec of [
      { machineType: "a2-highgpu-2g", acceleratorType: "NVIDIA_TESLA_A100" as const, acceleratorCount: 2 },
      { machineType: "n1-standard-8", acceleratorType: "NVIDIA_TESLA_T4" as const, acceleratorCount: 1 },
      { machineType: "g2-standard-24", acceleratorType: "NVIDIA_L4" as const, acceleratorCount: 2 },
      { machineType: "n2-standard-4" },
    ])
      await expect(create((j) => (machine(j).machineSpec = spec))).resolves.toMatchObject({
        state: "JOB_STATE_QUEUED",
      });
  });

  it("refuses labels that break Google's label rules", async () => {
    await expect(create((j) => (j.labels = { RunId: "x" }))).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/Invalid label key "RunId"/) as unknown,
    });
    await expect(create((j) => (j.labels = { run_id: "Reviews 2023" }))).rejects.toMatchObject({ code: 3 });
    await expect(create((j) => (j.labels = { note: "x".repeat(64) }))).rejects.toMatchObject({ code: 3 });
  });

  it("refuses a worker pool without a container image", async () => {
    await expect(create((j) => (machine(j).containerSpec!.imageUri = ""))).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/image_uri is required/) as unknown,
    });
  });

  it("accepts the specs the pipeline builds for every step, with the default machines", async () => {
    const config = parseConfig({});
    for (const step of ["prepare", "tune", "train", "evaluate"] as const) {
      const job = customJobOf(jobSpec("ok", { step, machine: config.machines[step] }));
      const [created] = await (await t.launcher.jobClient()).createCustomJob({ parent, customJob: job });
      expect(created.state, step).toBe("JOB_STATE_QUEUED");
    }
  });
});
