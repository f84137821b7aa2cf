// The functions (2nd gen, Node runtime, no public invoker): deployed from the staged source, redeployed on change.
import { createHash } from "node:crypto";
import { EVENT_FUNCTIONS } from "../access.ts";
import { deliveries } from "../deliveries.ts";
import { envVarsFlagValue, functionEnv } from "../function-env.ts";
import { DEPLOYED_FUNCTIONS, ENTRY_POINTS, isEventFunction, type DeployedFunction } from "../settings.ts";
import type { PlanContext } from "./context.ts";
import { keys, vars } from "./context.ts";
import { bindingKey, labelList, sa } from "./commands.ts";
import { mlflowSecrets, setSecretsFlag } from "./secrets.ts";
import { builderBindingKeys } from "./identities.ts";
import type { PlanVariable, Resource } from "./types.ts";

/** The label that records what was deployed: source and settings hash. */
export const SOURCE_LABEL = "sp-source";

/** Build-time environment: the functions serve on CPU, so onnxruntime-node must not fetch its CUDA provider. */
const BUILD_ENV = { ONNXRUNTIME_NODE_INSTALL: "skip" };

/** Functions that read topics only as observers. */
const OBSERVERS: ReadonlySet<DeployedFunction> = new Set(
  deliveries()
    .filter((d) => d.as === "observer")
    .map((d) => d.fn),
);

interface FunctionDescription {
  state?: string;
  labels?: Record<string, string>;
}

export function functionResources(ctx: PlanContext): Resource[] {
  const { g, names, settings, config, input } = ctx;
  const builderEmail = names.serviceAccountEmail("builder");
  const builderKeys = builderBindingKeys(ctx);
  const secretsFlag = setSecretsFlag(ctx);
  const secretGrants = (fn: DeployedFunction) =>
    fn === "track-run"
      ? mlflowSecrets(ctx).map(([, id]) =>
          bindingKey(
            keys.secret(id),
            "roles/secretmanager.secretAccessor",
            sa(names.serviceAccountEmail("fn:track-run")),
          ),
        )
      : [];
  // The functions' images go to the deployment's own repository, where the builder may write, not gcf-artifacts.
  const repository = names.repositories()[0];
  return DEPLOYED_FUNCTIONS.map((fn): Resource => {
    const s = settings.functions[fn];
    const name = names.function(fn);
    const internal = isEventFunction(fn);
    const args = [
      "functions",
      "deploy",
      name,
      "--gen2",
      `--region=${names.region}`,
      `--runtime=${settings.runtime}`,
      `--source=${input.stageDir}`,
      `--entry-point=${ENTRY_POINTS[fn]}`,
      // Pushes and Eventarc deliver over HTTP; the functions framework turns them into CloudEvents.
      "--trigger-http",
      "--no-allow-unauthenticated",
      // Event functions only take traffic from Pub/Sub and Eventarc; predict takes authenticated callers from anywhere.
      `--ingress-settings=${internal ? "internal-only" : "all"}`,
      `--run-service-account=${names.serviceAccountEmail(`fn:${fn}`)}`,
      `--build-service-account=projects/${names.project}/serviceAccounts/${builderEmail}`,
      ...(repository
        ? [
            `--docker-repository=projects/${names.project}/locations/${names.region}/repositories/${repository}`,
          ]
        : []),
      `--memory=${s.memory}`,
      ...(s.cpu ? [`--cpu=${s.cpu}`] : []),
      `--timeout=${s.timeoutSeconds}s`,
      `--max-instances=${s.maxInstances}`,
      `--concurrency=${s.concurrency}`,
      `--set-env-vars=${envVarsFlagValue(functionEnv(config, names, fn))}`,
      `--set-build-env-vars=${envVarsFlagValue(BUILD_ENV)}`,
      // MLflow's credentials reach the tracking function from Secret Manager, never as plain variables.
      ...(fn === "track-run" && secretsFlag ? [secretsFlag] : []),
    ];
    const hash = createHash("sha256")
      .update(input.sourceHashes.functions)
      .update("\0")
      .update(JSON.stringify(args))
      .digest("hex")
      .slice(0, 16);
    const deploy = g.write(
      ...args,
      `--update-labels=${labelList({ ...settings.labels, [SOURCE_LABEL]: hash })}`,
    );
    return {
      key: keys.fn(fn),
      kind: "function",
      name,
      nameKind: "function",
      doc:
        fn === "predict"
          ? "serves predictions to authenticated callers"
          : OBSERVERS.has(fn)
            ? `observes runs without steering them (${ENTRY_POINTS[fn]})`
            : `routes pipeline events (${ENTRY_POINTS[fn]})`,
      dependsOn: [
        keys.apis,
        keys.serviceAccount(`fn:${fn}`),
        keys.serviceAccount("builder"),
        ...builderKeys,
        ...(repository ? [keys.repository(repository)] : []),
        ...secretGrants(fn),
      ],
      describe: g.read("functions", "describe", name, `--region=${names.region}`),
      drift: (described) => {
        const d = described as FunctionDescription;
        const diffs: string[] = [];
        const deployed = d.labels?.[SOURCE_LABEL];
        if (deployed !== hash)
          diffs.push(`source or settings changed (${deployed ?? "unlabelled"} -> ${hash})`);
        if (d.state !== "ACTIVE") diffs.push(`state is ${d.state ?? "unknown"}`);
        return Promise.resolve(diffs);
      },
      create: [deploy],
      update: [deploy],
      delete: [g.write("functions", "delete", name, `--region=${names.region}`)],
      before: "stage-functions-source",
      provisioning:
        "the build runs as the new builder account, whose grants and the Cloud Functions and Cloud Build agents take minutes to apply",
    };
  });
}

/** The URL of each function a push subscription delivers to. */
export function functionUrlVariables(ctx: PlanContext): PlanVariable[] {
  const { g, names } = ctx;
  return EVENT_FUNCTIONS.map((fn) => ({
    name: vars.functionUrl(fn),
    command: g.read(
      "functions",
      "describe",
      names.function(fn),
      `--region=${names.region}`,
      "--format=value(serviceConfig.uri)",
    ),
    dependsOn: [keys.fn(fn)],
    doc: `the URL of ${names.function(fn)}`,
  }));
}
