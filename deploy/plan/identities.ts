// One service account per function, per job kind, for delivery and for builds, and exactly the roles each needs.
import { builderGrants, identityGrants, type GrantTarget } from "../access.ts";
import { tuningBackend } from "../../gpu-jobs/specs/build-job-spec.ts";
import { IDENTITIES, type Identity } from "../names.ts";
import type { PlanContext } from "./context.ts";
import { keys } from "./context.ts";
import { bindingKey, iamBinding, projectPolicy, resourcePolicy, sa, type PolicyTarget } from "./commands.ts";
import type { Resource } from "./types.ts";

const PURPOSE: Record<Identity, string> = {
  "fn:start-run": "runs the start-run function",
  "fn:advance-run": "runs the advance-run function",
  "fn:retrigger-run": "runs the retrigger-run function",
  "fn:watch-jobs": "runs the watch-jobs function",
  "fn:reconcile-runs": "runs the reconcile-runs function",
  "fn:log-run-events": "runs the log-run-events function",
  "fn:track-run": "runs the track-run function",
  "fn:report-run": "runs the report-run function",
  "fn:predict": "runs the predict function",
  "job:prepare": "runs prepare jobs",
  "job:tune": "runs tune jobs",
  "job:train": "runs train jobs",
  "job:evaluate": "runs evaluate jobs",
  invoker: "signs the Pub/Sub pushes that deliver events to the pipeline's functions",
  builder: "builds the pipeline's images and functions with Cloud Build",
};

export function serviceAccountResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  return IDENTITIES.map((identity) => {
    const email = names.serviceAccountEmail(identity);
    return {
      key: keys.serviceAccount(identity),
      kind: "service-account",
      name: names.serviceAccountId(identity),
      nameKind: "service-account",
      doc: PURPOSE[identity],
      dependsOn: [keys.apis],
      describe: g.read("iam", "service-accounts", "describe", email),
      create: [
        g.write(
          "iam",
          "service-accounts",
          "create",
          names.serviceAccountId(identity),
          `--display-name=sentiment-pipeline ${identity}`,
          `--description=${PURPOSE[identity]}`,
        ),
      ],
      delete: [g.write("iam", "service-accounts", "delete", email)],
    };
  });
}

/** The policy a grant target lives in. */
export function policyTarget(ctx: PlanContext, on: GrantTarget): PolicyTarget {
  const { g, names } = ctx;
  switch (on.kind) {
    case "project":
      return projectPolicy(g);
    case "bucket":
      return resourcePolicy(g, keys.bucket, ["storage", "buckets"], `gs://${names.bucket}`);
    case "topic":
      return resourcePolicy(g, keys.topic(on.topic), ["pubsub", "topics"], names.topic(on.topic));
    case "dead-letter-topic":
      return resourcePolicy(
        g,
        keys.deadLetterTopic(on.topic),
        ["pubsub", "topics"],
        names.deadLetterTopic(on.topic),
      );
    case "service-account":
      return resourcePolicy(
        g,
        keys.serviceAccount(on.identity),
        ["iam", "service-accounts"],
        names.serviceAccountEmail(on.identity),
      );
    case "repository":
      return resourcePolicy(g, keys.repository(on.repository), ["artifacts", "repositories"], on.repository, [
        `--location=${names.region}`,
      ]);
    case "function":
      // A 2nd gen function is a Cloud Run service of the same name; invoking it is run.invoker on that service.
      return resourcePolicy(g, keys.fn(on.fn), ["run", "services"], names.function(on.fn), [
        `--region=${names.region}`,
      ]);
  }
}

/** The bindings of identityGrants(), each depending on its service account and on what it is granted on. */
export function identityBindings(ctx: PlanContext): Resource[] {
  const builder = builderGrants({ project: ctx.names.project, repositories: ctx.names.repositories() });
  const grants = identityGrants({ tuningJobs: tuningBackend(ctx.config) === "vertex" });
  return [...grants, ...builder].map((grant) =>
    iamBinding({
      member: sa(ctx.names.serviceAccountEmail(grant.identity)),
      role: grant.role,
      target: policyTarget(ctx, grant.on),
      doc: `${grant.identity} ${grant.why}`,
      dependsOn: [keys.serviceAccount(grant.identity)],
      ...(grant.condition ? { condition: grant.condition } : {}),
    }),
  );
}

/** The builder's bindings: what a function deploy or an image build must wait for. */
export function builderBindingKeys(ctx: PlanContext): string[] {
  return builderGrants({ project: ctx.names.project, repositories: ctx.names.repositories() }).map((grant) =>
    bindingKey(
      policyTarget(ctx, grant.on).key,
      grant.role,
      sa(ctx.names.serviceAccountEmail(grant.identity)),
      grant.condition?.title,
    ),
  );
}
