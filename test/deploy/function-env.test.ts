// The functions' environment: the config's variables travel intact, local-only ones stay home, gcloud can split them.
import { describe, expect, it } from "vitest";
import { ENV_VARS, loadConfig } from "../../schemas/load-config.ts";
import {
  envVarsFlagValue,
  functionEnv,
  JOB_ACCOUNTS_VAR,
  LOCAL_ONLY_VARS,
} from "../../deploy/function-env.ts";
import { deploymentNames } from "../../deploy/names.ts";
import { sampleConfig } from "./support/sample-plan.ts";

const config = sampleConfig({
  rules: { f1Min: 0.7, sliceColumns: ["year", "main_category", "store"] },
  runtime: { topicPrefix: "stg-", storageEmulatorEndpoint: "http://127.0.0.1:4443" },
});
const names = deploymentNames(config);

describe("function environment", () => {
  it("reads back through loadConfig to the same config values", () => {
    const env = functionEnv(config, names, "advance-run");
    const back = loadConfig({ env: { ...env, PIPELINE_CONFIG: "" } });
    expect(back.rules).toEqual(config.rules);
    expect(back.budgets).toEqual(config.budgets);
    expect(back.runtime.bucket).toBe(config.runtime.bucket);
    expect(back.runtime.topicPrefix).toBe("stg-");
    expect(back.runtime.mode).toBe("gcp");
    expect(env.SLICE_COLUMNS).toBe("year,main_category,store");
  });

  it("leaves out the variables that only make sense on one machine", () => {
    const env = functionEnv(config, names, "start-run");
    for (const name of LOCAL_ONLY_VARS) expect(env).not.toHaveProperty(name);
    expect(ENV_VARS.map((v) => v.name)).toEqual(expect.arrayContaining([...LOCAL_ONLY_VARS]));
  });

  it("tells only the launching functions which account each job kind runs as", () => {
    const accounts = JSON.parse(functionEnv(config, names, "advance-run")[JOB_ACCOUNTS_VAR]!) as Record<
      string,
      string
    >;
    expect(accounts).toEqual({
      prepare: names.serviceAccountEmail("job:prepare"),
      tune: names.serviceAccountEmail("job:tune"),
      train: names.serviceAccountEmail("job:train"),
      evaluate: names.serviceAccountEmail("job:evaluate"),
    });
    expect(functionEnv(config, names, "watch-jobs")).not.toHaveProperty(JOB_ACCOUNTS_VAR);
  });

  it("joins the pairs with a delimiter no value contains, so commas and JSON survive gcloud's splitting", () => {
    const value = envVarsFlagValue({ A: "x,y", B: '{"k":"v|w"}', C: "plain" });
    expect(value).toBe('^#^A=x,y#B={"k":"v|w"}#C=plain');
    const [, delimiter, rest] = /^\^(.)\^(.*)$/.exec(value)!;
    expect(rest!.split(delimiter!)).toEqual(["A=x,y", 'B={"k":"v|w"}', "C=plain"]);
    expect(() => envVarsFlagValue({ A: "|#~;!" })).toThrow(/delimiter/);
  });
});
