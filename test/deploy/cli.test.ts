// The deploy command line: dry runs print the plan, teardown asks before removing, bad input exits with the reason.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deployConfig, main } from "../../deploy/cli.ts";

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(args, {
    out: { write: (s: string) => (out += s) },
    err: { write: (s: string) => (err += s) },
  });
  return { code, out, err };
}

describe("deploy command line", () => {
  it("prints the plan as a bash script on a dry run and calls nothing", async () => {
    const r = await cli(
      "deploy",
      "--project",
      "demo-project-123",
      "--region",
      "us-central1",
      "--dry-run",
      "--gcloud",
      "/nonexistent/gcloud",
    );
    expect(r.code).toBe(0);
    execFileSync("bash", ["-n"], { input: r.out });
    expect(r.out).toContain(
      "gcloud storage buckets create gs://demo-project-123-sentiment-pipeline --location=us-central1",
    );
    expect(r.out).toContain("gcloud functions deploy advance-run --gen2 --region=us-central1");
  });

  it("prints the tuning job's settings on a dry run when the config asks for parallel trials", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sp-deploy-"));
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({ search: { trials: 12, parallelTrials: 4, earlyStopping: "decayCurve" } }),
    );
    const args = ["deploy", "--project", "demo-project-123", "--region", "us-central1", "--dry-run"];
    const r = await cli(...args, "--config", file, "--gcloud", "/nonexistent/gcloud");
    expect(r.code).toBe(0);
    execFileSync("bash", ["-n"], { input: r.out });
    expect(r.out).toMatch(
      /# JOBS: tune: Vertex AI HyperparameterTuningJob, maxTrialCount 12, parallelTrialCount 4, maxFailedTrialCount 6, .*early stopping: decayCurve/,
    );
    expect(r.out).toMatch(/# JOBS: tune trials: g2-standard-8 \+ 1x NVIDIA_L4 \(Spot\).* 4 at once/);
    const sequential = await cli(...args, "--gcloud", "/nonexistent/gcloud");
    expect(sequential.out).toMatch(/# JOBS: tune job: .*Optuna TPE, 8 trial\(s\) in sequence/);
    expect(sequential.out).not.toContain("HyperparameterTuningJob");
  });

  it("prints what teardown would remove and removes nothing without --yes", async () => {
    const r = await cli(
      "teardown",
      "--project",
      "demo-project-123",
      "--region",
      "us-central1",
      "--gcloud",
      "/nonexistent/gcloud",
    );
    expect(r.code).toBe(2);
    expect(r.out).toContain("gcloud pubsub topics delete run-started");
    expect(r.err).toMatch(/run again with --yes/);
  });

  it("exits 2 with the usage on a missing project or an unknown option", async () => {
    const missing = await cli("deploy", "--region", "us-central1");
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--project is required[\s\S]*usage:/);
    const unknown = await cli(
      "deploy",
      "--project",
      "demo-project-123",
      "--region",
      "us-central1",
      "--bogus",
    );
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/bogus/);
  });

  it("exits 1 naming the rule when a name would be rejected", async () => {
    const r = await cli(
      "deploy",
      "--project",
      "demo-project-123",
      "--region",
      "us-central1",
      "--bucket",
      "My_Bucket",
      "--dry-run",
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bucket/i);
  });

  it("names the bucket after the project unless the config or --bucket says otherwise", () => {
    expect(deployConfig({ project: "demo-project-123", region: "us-central1" }, {}).runtime.bucket).toBe(
      "demo-project-123-sentiment-pipeline",
    );
    expect(
      deployConfig({ project: "demo-project-123", region: "us-central1" }, { BUCKET: "team-reviews" }).runtime
        .bucket,
    ).toBe("team-reviews");
    expect(
      deployConfig({ project: "demo-project-123", region: "us-central1", bucket: "other-bucket" }, {})
        .runtime,
    ).toMatchObject({
      bucket: "other-bucket",
      mode: "gcp",
      projectId: "demo-project-123",
    });
  });
});
