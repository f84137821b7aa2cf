// MLflow's credentials as Secret Manager secrets: each must exist (the user creates it), and exactly who reads it may.
import type { PlanContext } from "./context.ts";
import { keys } from "./context.ts";
import { iamBinding, resourcePolicy, sa } from "./commands.ts";
import type { Identity } from "../names.ts";
import type { Resource } from "./types.ts";

/** Who reads MLflow's credentials: track-run (with --set-secrets) and the jobs that track, tune and train. */
export const SECRET_READERS: readonly Identity[] = ["fn:track-run", "job:tune", "job:train"];

/** The configured secrets: environment variable -> secret id. */
export function mlflowSecrets(ctx: PlanContext): Array<[string, string]> {
  return Object.entries(ctx.config.runtime.mlflowSecrets ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

/** `--set-secrets` for the functions that track: each variable from the latest version of its secret. */
export function setSecretsFlag(ctx: PlanContext): string | null {
  const secrets = mlflowSecrets(ctx);
  return secrets.length > 0
    ? `--set-secrets=${secrets.map(([name, id]) => `${name}=${id}:latest`).join(",")}`
    : null;
}

export function secretResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  return [...new Set(mlflowSecrets(ctx).map(([, id]) => id))].flatMap((id): Resource[] => {
    const used = mlflowSecrets(ctx)
      .filter(([, s]) => s === id)
      .map(([name]) => name)
      .join(", ");
    const secret: Resource = {
      key: keys.secret(id),
      kind: "secret",
      name: id,
      doc: `holds ${used} for MLflow (its value never passes through deploy)`,
      dependsOn: [keys.apis],
      describe: g.read("secrets", "describe", id),
      create: [],
      missing:
        `the Secret Manager secret ${id} (${used}) does not exist in ${names.project}: create it with ` +
        `printf %s "$VALUE" | gcloud secrets create ${id} --data-file=- --project=${names.project}, then deploy again`,
      keepOnTeardown: "the secret is yours: deploy only reads it",
    };
    const readers = SECRET_READERS.map((identity) =>
      iamBinding({
        member: sa(names.serviceAccountEmail(identity)),
        role: "roles/secretmanager.secretAccessor",
        target: resourcePolicy(g, keys.secret(id), ["secrets"], id),
        doc: `lets ${identity} read ${used}`,
        dependsOn: [keys.serviceAccount(identity)],
      }),
    );
    // The secret is kept on teardown, so the grants on it are removed one by one.
    for (const r of readers) delete r.ownedBy;
    return [secret, ...readers];
  });
}
