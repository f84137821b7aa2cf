// Jobs get references to MLflow's credential secrets, never their values, and only in the cloud.
import { describe, expect, it } from "vitest";
import { SECRET_ENV_VAR, jobEnv } from "../../gpu-jobs/specs/build-job-spec.ts";
import { parseConfig } from "../../schemas/load-config.ts";

const runtime = {
  projectId: "sp-sample-project",
  mlflowTrackingUri: "https://mlflow.example.com",
  mlflowSecrets: { MLFLOW_TRACKING_USERNAME: "mlflow-user", MLFLOW_TRACKING_PASSWORD: "mlflow-pass" },
};

describe("a job's MLflow credentials", () => {
  it("are secret version names the job reads at start, in gcp mode", () => {
    const env = jobEnv(parseConfig({ runtime: { ...runtime, mode: "gcp" } }));
    expect(JSON.parse(env[SECRET_ENV_VAR]!)).toEqual({
      MLFLOW_TRACKING_USERNAME: "projects/sp-sample-project/secrets/mlflow-user/versions/latest",
      MLFLOW_TRACKING_PASSWORD: "projects/sp-sample-project/secrets/mlflow-pass/versions/latest",
    });
    expect(
      Object.keys(env).filter((k) => k.startsWith("MLFLOW_TRACKING_") && k !== "MLFLOW_TRACKING_URI"),
    ).toEqual([]);
  });

  it("are not asked for where there is no Secret Manager", () => {
    expect(
      jobEnv(parseConfig({ runtime: { ...runtime, mode: "emulators" } }))[SECRET_ENV_VAR],
    ).toBeUndefined();
  });

  it("refuse a secret id Secret Manager would not accept", () => {
    expect(() =>
      parseConfig({ runtime: { mlflowSecrets: { MLFLOW_TRACKING_PASSWORD: "not/a/secret id" } } }),
    ).toThrow(/mlflowSecrets/);
  });
});
