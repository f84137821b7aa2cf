// The model registry port: versions of one model, and the champion alias that moves only on promotion.
import type { MetricsSummary } from "../../schemas/metrics.ts";

export interface ModelVersion {
  /** Registry resource of the model (Vertex: projects/P/locations/R/models/ID). */
  modelResource: string;
  version: string;
  artifactUri: string;
  runId: string;
  aliases: string[];
  metrics: MetricsSummary;
  createdAt: string;
}

export interface RegisterRequest {
  runId: string;
  /** Evaluation attempt that approved the model: with runId it makes registration idempotent. */
  attempt: number;
  artifactUri: string;
  metrics: MetricsSummary;
  labels?: Record<string, string>;
}

export interface ModelRegistry {
  /** Registers a new version and moves the champion alias to it; a repeat for the same run and attempt returns the existing version. */
  registerChampion(request: RegisterRequest): Promise<ModelVersion>;
  getChampion(): Promise<ModelVersion | null>;
  listVersions(): Promise<ModelVersion[]>;
}
