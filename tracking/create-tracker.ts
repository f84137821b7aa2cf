// Picks the experiment tracker from the config: MLflow over REST when a tracking URI is set, none otherwise.
import type { PipelineConfig } from "../schemas/config.ts";
import type { ExperimentTracker } from "./experiment-tracker.ts";
import { MlflowRestTracker } from "./mlflow-rest-tracker.ts";

export function createExperimentTracker(
  config: PipelineConfig,
  env: NodeJS.ProcessEnv = process.env,
): ExperimentTracker | null {
  const uri = config.runtime.mlflowTrackingUri;
  if (!uri) return null;
  return new MlflowRestTracker({
    uri,
    ...(env.MLFLOW_TRACKING_TOKEN ? { token: env.MLFLOW_TRACKING_TOKEN } : {}),
    ...(env.MLFLOW_TRACKING_USERNAME !== undefined && env.MLFLOW_TRACKING_PASSWORD !== undefined
      ? { username: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD }
      : {}),
  });
}
