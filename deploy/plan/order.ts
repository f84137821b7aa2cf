// Orders resources so each comes after what it depends on, keeping the declared order where it is free.
import type { PlanVariable, Resource } from "./types.ts";
import { placeholdersIn } from "./types.ts";

export class PlanError extends Error {
  override readonly name = "PlanError";
}

/** A stable topological order; unknown dependencies, duplicate keys and cycles are errors. */
export function orderResources(
  resources: readonly Resource[],
  variables: readonly PlanVariable[],
): Resource[] {
  const byKey = new Map<string, Resource>();
  for (const r of resources) {
    if (byKey.has(r.key)) throw new PlanError(`two resources share the key ${r.key}`);
    byKey.set(r.key, r);
  }
  const variableDeps = new Map(variables.map((v) => [v.name, v.dependsOn]));
  // A resource whose commands use a variable also depends on what the variable reads.
  const deps = new Map<string, string[]>();
  for (const r of resources) {
    const implied = commandsOf(r)
      .flatMap((argv) => argv.flatMap(placeholdersIn))
      .flatMap((name) => {
        const d = variableDeps.get(name);
        if (!d) throw new PlanError(`${r.key} uses the unknown variable ${name}`);
        return d;
      });
    const all = [...new Set([...r.dependsOn, ...implied])].filter((k) => k !== r.key);
    for (const d of all)
      if (!byKey.has(d)) throw new PlanError(`${r.key} depends on ${d}, which is not in the plan`);
    deps.set(r.key, all);
  }
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: Resource[] = [];
  const visit = (r: Resource, path: string[]) => {
    if (done.has(r.key)) return;
    if (visiting.has(r.key)) throw new PlanError(`dependency cycle: ${[...path, r.key].join(" -> ")}`);
    visiting.add(r.key);
    for (const d of deps.get(r.key) ?? []) visit(byKey.get(d)!, [...path, r.key]);
    visiting.delete(r.key);
    done.add(r.key);
    out.push({ ...r, dependsOn: deps.get(r.key) ?? [] });
  };
  for (const r of resources) visit(r, []);
  return out;
}

function commandsOf(r: Resource): (readonly string[])[] {
  return [
    r.describe,
    ...r.create,
    ...(r.update ?? []),
    ...(r.delete ?? []),
    ...(r.grant ? [[r.grant.member]] : []),
  ];
}
