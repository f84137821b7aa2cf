// A sample deployment for tests: a gcp config, default settings and fixed source hashes.
import type { PipelineConfig, PipelineConfigInput } from "../../../schemas/config.ts";
import { deepMerge, parseConfig } from "../../../schemas/load-config.ts";
import { buildPlan, type PlanInput } from "../../../deploy/plan/build-plan.ts";
import type { Plan } from "../../../deploy/plan/types.ts";
import { parseDeploySettings } from "../../../deploy/settings.ts";

export const SAMPLE_PROJECT = "sp-sample-project";
export const SAMPLE_REGION = "europe-west4";
export const SAMPLE_BUCKET = "sp-sample-project-reviews";
export const RETRIGGER_MEMBER = "user:ana@example.com";

export function sampleConfig(overrides: PipelineConfigInput = {}): PipelineConfig {
  const base = {
    runtime: { mode: "gcp", projectId: SAMPLE_PROJECT, region: SAMPLE_REGION, bucket: SAMPLE_BUCKET },
  };
  return parseConfig(deepMerge(base, overrides));
}

export function samplePlanInput(over: Partial<PlanInput> = {}): PlanInput {
  return {
    config: sampleConfig(),
    settings: parseDeploySettings({}),
    sourceHashes: {
      functions: "0123456789abcdef",
      images: { trainer: "aaaaaaaaaaaaaaaa", jobs: "bbbbbbbbbbbbbbbb", serving: "cccccccccccccccc" },
    },
    stageDir: ".local/deploy/functions-source",
    retriggerMembers: [RETRIGGER_MEMBER],
    skipImages: false,
    stageCommand: [
      "npx",
      "tsx",
      "deploy/cli.ts",
      "stage-functions",
      `--project=${SAMPLE_PROJECT}`,
      `--region=${SAMPLE_REGION}`,
    ],
    ...over,
  };
}

export function samplePlan(over: Partial<PlanInput> = {}): Plan {
  return buildPlan(samplePlanInput(over));
}

/** The value of `--name=value` in a command, or undefined. */
export function flagOf(argv: readonly string[], name: string): string | undefined {
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
