// The environment of each deployed function: the config's variables (ENV_VARS) plus the staged full config file.
import type { PipelineConfig } from "../schemas/config.ts";
import { ENV_VARS } from "../schemas/load-config.ts";
import { JOB_STEPS } from "../schemas/names.ts";
import { LAUNCHERS } from "./access.ts";
import type { DeploymentNames } from "./names.ts";
import type { DeployedFunction } from "./settings.ts";

/** Variables that only make sense on one machine (emulators, the embedded folder): never deployed. */
export const LOCAL_ONLY_VARS: ReadonlySet<string> = new Set([
  "LOCAL_ROOT",
  "PUBSUB_EMULATOR_HOST",
  "STORAGE_EMULATOR_ENDPOINT",
  "VERTEX_ENDPOINT",
]);

/** The full config travels with the functions' source under this name, relative to the function's working folder. */
export const STAGED_CONFIG_FILE = "pipeline-config.json";

/** Job step -> service account email, as JSON: the Vertex job launcher runs each job as its own account. */
export const JOB_ACCOUNTS_VAR = "SP_JOB_SERVICE_ACCOUNTS";

export function functionEnv(
  config: PipelineConfig,
  names: DeploymentNames,
  fn: DeployedFunction,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of ENV_VARS) {
    if (LOCAL_ONLY_VARS.has(v.name)) continue;
    const value = getPath(config, v.path);
    if (value === undefined || value === "") continue;
    env[v.name] = Array.isArray(value) ? value.map(scalar).join(",") : scalar(value);
  }
  // Everything ENV_VARS does not cover (search space, machines, images, models) comes from the staged file.
  env.PIPELINE_CONFIG = STAGED_CONFIG_FILE;
  if (LAUNCHERS.includes(fn)) {
    env[JOB_ACCOUNTS_VAR] = JSON.stringify(
      Object.fromEntries(JOB_STEPS.map((s) => [s, names.serviceAccountEmail(`job:${s}`)])),
    );
  }
  return env;
}

/**
 * A `--set-env-vars` value. Values may hold commas (SLICE_COLUMNS, JSON), so the pairs are joined with gcloud's
 * alternate delimiter syntax, `^D^K=V D K=V`, using a character that no key or value contains.
 */
export function envVarsFlagValue(env: Record<string, string>): string {
  const pairs = Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
  const delimiter = ["|", "#", "~", ";", "!"].find((c) => pairs.every((p) => !p.includes(c)));
  if (!delimiter) throw new Error("environment values use every delimiter gcloud could split them on");
  return `^${delimiter}^${pairs.join(delimiter)}`;
}

function scalar(value: unknown): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return String(value);
  throw new Error(`cannot put ${JSON.stringify(value)} in an environment variable`);
}

function getPath(obj: unknown, path: string): unknown {
  let node: unknown = obj;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
