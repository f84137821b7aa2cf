// Every command of the deploy and teardown plans, with and without the optional parts, goes through the real gcloud:
// it must parse its arguments and get as far as calling the (local, refusing) API. Fails under CI without gcloud.
import { describe, expect, it } from "vitest";
import { buildPlan } from "../../deploy/plan/build-plan.ts";
import type { Plan } from "../../deploy/plan/types.ts";
import { installedGcloud, oneOfEachShape, parseCheck, planCommands } from "./support/gcloud-parse-check.ts";
import { SAMPLE_PROJECT, sampleConfig, samplePlanInput } from "./support/sample-plan.ts";

const gcloud = installedGcloud();
if (!gcloud) {
  if (process.env.CI === "true")
    throw new Error("CI=true but no gcloud on PATH: the gcloud parse check needs the Google Cloud CLI");
  console.warn("gcloud parse check skipped: no gcloud on PATH");
}

/** The plan as configured by default, and with each optional part switched the other way. */
function variants(): Plan[] {
  return [
    buildPlan(samplePlanInput()),
    buildPlan(samplePlanInput({ skipImages: true, retriggerMembers: [] })),
    buildPlan(
      samplePlanInput({
        config: sampleConfig({
          runtime: {
            topicPrefix: "stg-",
            mlflowTrackingUri: "https://mlflow.example.com",
            mlflowSecrets: {
              MLFLOW_TRACKING_USERNAME: "mlflow-user",
              MLFLOW_TRACKING_PASSWORD: "mlflow-password",
            },
          },
          // Images from elsewhere: no repository of ours, the builder writes project-wide.
          images: {
            trainer: "europe-docker.pkg.dev/other-project/images/trainer:1",
            jobs: "europe-docker.pkg.dev/other-project/images/jobs:1",
            serving: "europe-docker.pkg.dev/other-project/images/serving:1",
          },
        }),
        retriggerMembers: ["group:ml-team@example.com", "serviceAccount:ci@other.iam.gserviceaccount.com"],
      }),
    ),
  ];
}

describe.skipIf(!gcloud)("the deploy plan through the installed gcloud", () => {
  it(
    "parses every command and reaches the API with each, for every variant of the plan",
    { timeout: 900_000 },
    async () => {
      const plans = variants();
      const names = plans.flatMap((p) =>
        p.resources.map((r) => r.name).concat(p.resources.flatMap((r) => r.name.split(" "))),
      );
      const commands = oneOfEachShape(planCommands(plans), names);
      const verdicts = await parseCheck(gcloud!, commands, {
        project: SAMPLE_PROJECT,
        workers: 2,
        cwd: process.cwd(),
      });
      const refused = verdicts
        .filter((v) => v.parseError)
        .map((v) => `gcloud ${v.argv.join(" ")}\n  ${v.stderr}`);
      expect(refused).toEqual([]);
      const stopped = verdicts
        .filter((v) => !v.reachedApi)
        .map((v) => `gcloud ${v.argv.join(" ")} (exit ${v.code})\n  ${v.stderr}`);
      expect(stopped).toEqual([]);
      // Every kind of command took part.
      const groups = new Set(verdicts.map((v) => v.argv.slice(0, 2).join(" ")));
      expect(groups.size).toBeGreaterThan(12);
    },
  );
});
