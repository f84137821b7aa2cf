// The model registry port: one model per model line, its versions, and the champion alias that moves only on promotion.
import type { MetricsSummary } from "../../schemas/metrics.ts";

export interface ModelVersion {
  /** Registry resource of the line's model (Vertex: projects/P/locations/R/models/ID). */
  modelResource: string;
  /** The model line this version belongs to. */
  line: string;
  version: string;
  artifactUri: string;
  runId: string;
  aliases: string[];
  metrics: MetricsSummary;
  createdAt: string;
}

export interface RegisterRequest {
  runId: string;
  /** The model line (a validated ModelLine): the version goes to this line's model, and becomes its champion. */
  line: string;
  /** Registration attempt of the run (a label on the version). */
  attempt: number;
  artifactUri: string;
  metrics: MetricsSummary;
  labels?: Record<string, string>;
}

export interface Registration extends ModelVersion {
  /**
   * False when an earlier registration attempt already made this run's version of the model (same run, same
   * artifact): nothing new was made. A redelivery of the same attempt finds its own version and reports true.
   */
  created: boolean;
}

export interface ModelRegistry {
  /**
   * Registers the run's model as a new version of its line and moves the line's champion alias to it. A model the line
   * already holds (same run and artifact: a redelivery, a retrigger from evaluate) is not registered again: its
   * version gets the alias and comes back with `created: false`.
   */
  registerChampion(request: RegisterRequest): Promise<Registration>;
  /** The line's champion, or null when the line has none (or does not exist yet). */
  getChampion(line: string): Promise<ModelVersion | null>;
  /** The line's versions, oldest first. */
  listVersions(line: string): Promise<ModelVersion[]>;
  /**
   * The champion of the one model a registry held before model lines (Vertex: the model `<registryModelName>`), or
   * null. Its line is not recorded: a caller that can tell it (from the model's metadata.json) may compare with it
   * while the line has no champion of its own. Absent where the registry migrates such a model into lines (local).
   */
  legacyChampion?(): Promise<ModelVersion | null>;
}
