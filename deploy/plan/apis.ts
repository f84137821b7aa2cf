// The APIs the deployment needs, enabled in one call; teardown leaves them on.
import type { PlanContext } from "./context.ts";
import { keys, vars } from "./context.ts";
import type { PlanVariable, Resource } from "./types.ts";

interface ServiceEntry {
  config?: { name?: string };
  name?: string;
}

function enabledNames(described: unknown): Set<string> {
  const list = Array.isArray(described) ? (described as ServiceEntry[]) : [];
  return new Set(list.map((s) => s.config?.name ?? s.name?.split("/").pop() ?? ""));
}

export function apiResources(ctx: PlanContext): Resource[] {
  const { g, settings } = ctx;
  // Secret Manager only where MLflow's credentials come from it.
  const secrets = Object.keys(ctx.config.runtime.mlflowSecrets ?? {}).length > 0;
  const apis = [...new Set([...settings.apis, ...(secrets ? ["secretmanager.googleapis.com"] : [])])].sort();
  return [
    {
      key: keys.apis,
      kind: "apis",
      name: apis.join(" "),
      doc: "the Google Cloud APIs the pipeline calls",
      dependsOn: [],
      describe: g.read("services", "list", "--enabled"),
      present: (described) => {
        const enabled = enabledNames(described);
        return Promise.resolve(apis.every((api) => enabled.has(api)));
      },
      create: [g.write("services", "enable", ...apis)],
      keepOnTeardown: "other workloads in the project may use these APIs",
    },
  ];
}

export function projectVariables(ctx: PlanContext): PlanVariable[] {
  const { g } = ctx;
  return [
    {
      name: vars.projectNumber,
      command: g.read("projects", "describe", g.project, "--format=value(projectNumber)"),
      dependsOn: [],
      doc: "the project number, which names Google's service agents",
    },
    {
      name: vars.storageAgent,
      // Creates the Cloud Storage service agent when it does not exist yet, and prints its email.
      command: ["storage", "service-agent", `--project=${g.project}`],
      dependsOn: [keys.apis],
      doc: "the Cloud Storage service agent, which publishes the bucket's notifications of uploads/",
    },
  ];
}
