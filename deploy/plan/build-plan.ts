// Builds the whole deployment plan from the config, the settings and the source hashes: pure, no cloud calls.
import { jobSettingsLines } from "./job-settings.ts";
import { deploymentNames } from "../names.ts";
import { apiResources, projectVariables } from "./apis.ts";
import { gcloud } from "./commands.ts";
import type { PlanContext, PlanInput } from "./context.ts";
import { functionResources, functionUrlVariables } from "./functions.ts";
import { identityBindings, serviceAccountResources } from "./identities.ts";
import { externalImages, imageResources } from "./images.ts";
import { jobStateSinkResources, sinkWriterVariable } from "./job-state-sink.ts";
import { reconcileScheduleResources } from "./reconcile-schedule.ts";
import { orderResources, PlanError } from "./order.ts";
import { subscriptionResources, topicResources, userPublisherBindings } from "./pubsub.ts";
import { secretResources } from "./secrets.ts";
import { storageResources } from "./storage.ts";
import type { Plan } from "./types.ts";
import { uploadNotificationResources, uploadNotificationVariable } from "./upload-notification.ts";

export type { PlanInput } from "./context.ts";

export function buildPlan(input: PlanInput): Plan {
  const { config, settings } = input;
  if (config.runtime.mode !== "gcp")
    throw new PlanError(`deploy needs runtime.mode "gcp", got "${config.runtime.mode}"`);
  for (const member of input.retriggerMembers) {
    if (!/^(user|group|serviceAccount|domain):\S+$/.test(member)) {
      throw new PlanError(
        `retrigger member ${JSON.stringify(member)} must look like user:EMAIL, group:EMAIL or serviceAccount:EMAIL`,
      );
    }
  }
  const uri = config.runtime.mlflowTrackingUri;
  if (uri && (new URL(uri).username || new URL(uri).password))
    throw new PlanError(
      `the MLflow tracking URI ${redactUri(uri)} carries credentials: deploy never puts them in an environment ` +
        "variable or the plan. Keep them in Secret Manager, name the secrets in runtime.mlflowSecrets " +
        '(e.g. {"MLFLOW_TRACKING_USERNAME": "mlflow-user", "MLFLOW_TRACKING_PASSWORD": "mlflow-password"}) and give the URI without them',
    );
  const names = deploymentNames(config);
  const ctx: PlanContext = { input, config, settings, names, g: gcloud(names.project, names.region) };

  const variables = [
    ...projectVariables(ctx),
    ...functionUrlVariables(ctx),
    sinkWriterVariable(ctx),
    uploadNotificationVariable(ctx),
  ];
  const resources = [
    ...apiResources(ctx),
    ...storageResources(ctx),
    ...serviceAccountResources(ctx),
    ...topicResources(ctx),
    ...imageResources(ctx),
    ...identityBindings(ctx),
    ...functionResources(ctx),
    ...subscriptionResources(ctx),
    ...userPublisherBindings(ctx),
    ...uploadNotificationResources(ctx),
    ...jobStateSinkResources(ctx),
    ...secretResources(ctx),
    ...reconcileScheduleResources(ctx),
  ];

  const warnings: string[] = [];
  for (const key of externalImages(ctx)) {
    warnings.push(
      `the ${key} image is not in ${names.region}-docker.pkg.dev/${names.project}: it is not built here, make sure it exists`,
    );
  }
  const tracking = trackingWarning(config.runtime.mlflowTrackingUri);
  if (tracking) warnings.push(tracking);
  if (input.skipImages)
    warnings.push(
      "images are not built (--skip-images): the configured images must exist before a run starts",
    );

  return {
    project: names.project,
    region: names.region,
    variables,
    resources: orderResources(resources, variables),
    stageCommand: input.stageCommand,
    warnings,
    jobSettings: jobSettingsLines(config),
  };
}

/** track-run is deployed either way; without a tracking server it acknowledges events and records nothing. */
function trackingWarning(uri: string | undefined): string | null {
  if (!uri)
    return "track-run records nothing: no MLflow tracking URI (set MLFLOW_TRACKING_URI or runtime.mlflowTrackingUri and deploy again to track runs)";
  const host = new URL(uri).hostname;
  if (host === "localhost" || host === "[::1]" || /^127\./.test(host) || host === "0.0.0.0")
    return `the MLflow tracking URI ${redactUri(uri)} is this machine's: track-run in Cloud Run cannot reach it (point it at a server the functions can reach)`;
  return null;
}

/** A URI with any user and password replaced, for messages. */
export function redactUri(uri: string): string {
  const u = new URL(uri);
  if (!u.username && !u.password) return uri;
  if (u.username) u.username = "***";
  if (u.password) u.password = "***";
  return u.toString();
}
