// The model registry over Vertex AI Model Registry (or the local stand-in): a Vertex model per model line, its versions, its champion alias.
import type { v1, protos } from "@google-cloud/aiplatform";
import { z } from "zod";
import type { PipelineConfig } from "../../schemas/config.ts";
import { MetricsSummary } from "../../schemas/metrics.ts";
import type { ModelRegistry, ModelVersion, RegisterRequest, Registration } from "../ports/model-registry.ts";
import { LEGACY_MODEL_LINE, lineModelId } from "../../schemas/model-line.ts";
import {
  grpcCode,
  locationName,
  vertexClientOptions,
  vertexLocationOf,
  type VertexLocation,
  loadAiplatform,
} from "./vertex-client-options.ts";

type ModelServiceClient = InstanceType<typeof v1.ModelServiceClient>;
type Model = protos.google.cloud.aiplatform.v1.IModel;

export const CHAMPION_ALIAS = "champion";

export interface VertexModelRegistryOptions extends VertexLocation {
  /** Base of the model ids (config.runtime.registryModelName): a line's model is `<modelId>-<line>`. */
  modelId: string;
  /** The serving image Vertex deploys the model with. */
  servingImageUri: string;
  predictRoute?: string;
  healthRoute?: string;
  servingPort?: number;
  client?: ModelServiceClient;
  /**
   * The longest one call waits on an upload's long-running operation, below advance-run's timeout (300 s): past it
   * the call fails as transient, and the redelivery waits on the same operation instead of uploading again.
   */
  operationTimeoutMs?: number;
  /** Between two reads of a running operation. */
  pollMs?: number;
}

/** An upload operation that outlived the wait: transient, the redelivery picks it up. */
export class UploadStillRunningError extends Error {
  override readonly name = "UploadStillRunningError";
}

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/** What the registry keeps in a version's description: enough to rebuild a ModelVersion exactly. */
const VersionDescription = z.object({
  runId: z.string(),
  line: z.string().optional(),
  attempt: z.number().int().positive(),
  metrics: MetricsSummary,
});

export class VertexModelRegistry implements ModelRegistry {
  private client: Promise<ModelServiceClient> | null;
  private readonly parent: string;

  constructor(private readonly options: VertexModelRegistryOptions) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(options.modelId))
      throw new Error(`invalid registry model id ${JSON.stringify(options.modelId)}`);
    this.client = options.client ? Promise.resolve(options.client) : null;
    this.parent = locationName(options);
  }

  /** The base of the line models' ids (runtime.registryModelName). */
  get modelId(): string {
    return this.options.modelId;
  }

  /**
   * The Vertex model of a line: one model resource per line, so that each line has its own versions and its own
   * `champion` alias (an alias is unique within a model resource, and moves from version to version).
   */
  modelName(line: string): string {
    return `${this.parent}/models/${lineModelId(this.options.modelId, line)}`;
  }

  /** The official ModelServiceClient, created on first use. */
  modelClient(): Promise<ModelServiceClient> {
    return (this.client ??= loadAiplatform().then(
      ({ v1 }) => new v1.ModelServiceClient(vertexClientOptions(this.options)),
    ));
  }

  async registerChampion(request: RegisterRequest): Promise<Registration> {
    const name = this.modelName(request.line);
    // The line already holding this run's model (a redelivery, a crash after the upload, a retrigger from evaluate)
    // finds its version again instead of uploading the same model as a new version.
    let version = await this.findVersion(name, request.runId, request.artifactUri);
    // An upload still running (one a delivery that timed out started) is waited on, then looked for again: a version
    // Vertex has not finished creating is not listed yet, and uploading again would make a second one.
    if (!version && (await this.waitForUploadsInFlight(name)))
      version = await this.findVersion(name, request.runId, request.artifactUri);
    // The same registration attempt resuming (a redelivery) made the version; an earlier attempt's means a no-op.
    const created = !version || version.labels?.attempt === String(request.attempt);
    if (!version) version = await this.upload(name, request);
    if (!(version.versionAliases ?? []).includes(CHAMPION_ALIAS)) {
      [version] = await (
        await this.modelClient()
      ).mergeVersionAliases({
        name: `${name}@${version.versionId}`,
        versionAliases: [CHAMPION_ALIAS],
      });
    }
    return { ...versionOf(version, request.line), created };
  }

  async getChampion(line: string): Promise<ModelVersion | null> {
    const model = await this.championModel(this.modelName(line));
    return model ? versionOf(model, line) : null;
  }

  async legacyChampion(): Promise<ModelVersion | null> {
    const model = await this.championModel(`${this.parent}/models/${this.options.modelId}`);
    // Whatever its labels say, its line is not known: the caller tells it from the model itself.
    return model ? { ...versionOf(model, LEGACY_MODEL_LINE), line: LEGACY_MODEL_LINE } : null;
  }

  /** The version of a model resource that holds the champion alias; null when the model or the alias is absent. */
  private async championModel(name: string): Promise<Model | null> {
    try {
      const [model] = await (await this.modelClient()).getModel({ name: `${name}@${CHAMPION_ALIAS}` });
      return model;
    } catch (err) {
      if (grpcCode(err) === NOT_FOUND) return null;
      throw err;
    }
  }

  /** The line's versions, oldest first. */
  async listVersions(line: string): Promise<ModelVersion[]> {
    const models = await this.versions(this.modelName(line));
    return models.map((m) => versionOf(m, line)).sort((a, b) => Number(a.version) - Number(b.version));
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }

  private async versions(name: string, filter = ""): Promise<Model[]> {
    try {
      const [models] = await (
        await this.modelClient()
      ).listModelVersions({ name, ...(filter ? { filter } : {}) }, { autoPaginate: true });
      return models;
    } catch (err) {
      if (grpcCode(err) === NOT_FOUND) return [];
      throw err;
    }
  }

  /** The line's version of this run's model: the run id is a label (filtered on), the artifact compared exactly. */
  private async findVersion(name: string, runId: string, artifactUri: string): Promise<Model | null> {
    const found = await this.versions(name, `labels.run_id="${runId}"`);
    return found.find((m) => m.labels?.run_id === runId && m.artifactUri === artifactUri) ?? null;
  }

  private async upload(name: string, request: RegisterRequest): Promise<Model> {
    const model = this.modelOf(request);
    const exists = (await this.versions(name)).length > 0;
    let operation;
    try {
      [operation] = await (
        await this.modelClient()
      ).uploadModel(
        exists
          ? { parent: this.parent, parentModel: name, model }
          : { parent: this.parent, modelId: lineModelId(this.options.modelId, request.line), model },
      );
    } catch (err) {
      // Another registration created the model first: upload as its next version.
      if (exists || grpcCode(err) !== ALREADY_EXISTS) throw err;
      [operation] = await (
        await this.modelClient()
      ).uploadModel({
        parent: this.parent,
        parentModel: name,
        model,
      });
    }
    if (!operation.name) throw new Error("Vertex AI returned an upload operation without a name");
    await this.waitOperation(operation.name);
    const done = await (await this.modelClient()).checkUploadModelProgress(operation.name);
    if (done.error) throw new Error(`uploading the model failed: ${JSON.stringify(done.error)}`);
    const response = done.result as { modelVersionId?: string } | undefined;
    if (!response?.modelVersionId) throw new Error("Vertex AI returned no version id for the uploaded model");
    const [uploaded] = await (
      await this.modelClient()
    ).getModel({ name: `${name}@${response.modelVersionId}` });
    return uploaded;
  }

  /** Waits for every upload still running on the model; true when there was one. */
  private async waitForUploadsInFlight(name: string): Promise<boolean> {
    const client = await this.modelClient();
    const running: string[] = [];
    try {
      for await (const op of client.listOperationsAsync({
        name,
        filter: "",
        pageSize: 100,
      } as protos.google.longrunning.ListOperationsRequest))
        if (!op.done && op.name && /\/operations\/[^/]+$/.test(op.name)) running.push(op.name);
    } catch (err) {
      if (grpcCode(err) === NOT_FOUND) return false;
      throw err;
    }
    for (const name of running) await this.waitOperation(name);
    return running.length > 0;
  }

  /** Polls an operation until it is done, for at most operationTimeoutMs. */
  private async waitOperation(name: string): Promise<void> {
    const client = await this.modelClient();
    const timeout = this.options.operationTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeout;
    for (;;) {
      const [op] = await client.getOperation({ name } as protos.google.longrunning.GetOperationRequest);
      if (op.done) return;
      if (Date.now() >= deadline)
        throw new UploadStillRunningError(
          `Vertex AI is still running ${name} after ${Math.round(timeout / 1000)} s; the redelivery waits for it`,
        );
      await new Promise((r) => setTimeout(r, this.options.pollMs ?? 2000));
    }
  }

  private modelOf(request: RegisterRequest): Model {
    const o = this.options;
    const description: z.infer<typeof VersionDescription> = {
      runId: request.runId,
      line: request.line,
      attempt: request.attempt,
      metrics: request.metrics,
    };
    return {
      displayName: lineModelId(o.modelId, request.line),
      description: `Sentiment classifier (NEGATIVE / NEUTRAL / POSITIVE), model line ${request.line}, trained by sentiment-pipeline`,
      versionDescription: JSON.stringify(description),
      artifactUri: request.artifactUri,
      containerSpec: {
        imageUri: o.servingImageUri,
        predictRoute: o.predictRoute ?? "/predict",
        healthRoute: o.healthRoute ?? "/health",
        ports: [{ containerPort: o.servingPort ?? 8080 }],
        // No MODEL_URI: on an endpoint Vertex copies artifactUri and passes the copy's location in AIP_STORAGE_URI,
        // the only copy the serving container's identity may read (the server prefers it: serving/README.md).
      },
      labels: { ...(request.labels ?? {}), ...metricLabels(request) },
    };
  }
}

export function vertexModelRegistryFromConfig(config: PipelineConfig): VertexModelRegistry {
  return new VertexModelRegistry({
    ...vertexLocationOf(config),
    modelId: config.runtime.registryModelName,
    servingImageUri: config.images.serving
      .replaceAll("{region}", config.runtime.region)
      .replaceAll("{project}", config.runtime.projectId),
  });
}

/**
 * Labels hold the run and the metrics so the console can filter and sort versions; label values allow only
 * [a-z0-9_-], so metrics are in basis points (0.8123 -> "8123").
 */
export function metricLabels(request: RegisterRequest): Record<string, string> {
  const bp = (x: number): string => String(Math.round(x * 10_000));
  return {
    run_id: request.runId,
    model_line: request.line,
    attempt: String(request.attempt),
    weighted_f1_bp: bp(request.metrics.weightedF1),
    macro_f1_bp: bp(request.metrics.macroF1),
    accuracy_bp: bp(request.metrics.accuracy),
  };
}

export function versionOf(model: Model, line: string): ModelVersion {
  const labels = model.labels ?? {};
  const parsed = VersionDescription.safeParse(safeJson(model.versionDescription ?? ""));
  const fromLabels = (key: string): number => Math.min(1, Math.max(0, Number(labels[key] ?? 0) / 10_000));
  const metrics = parsed.success
    ? parsed.data.metrics
    : {
        weightedF1: fromLabels("weighted_f1_bp"),
        macroF1: fromLabels("macro_f1_bp"),
        accuracy: fromLabels("accuracy_bp"),
      };
  const created = model.versionCreateTime ?? model.createTime;
  return {
    modelResource: model.name ?? "",
    line: parsed.success ? (parsed.data.line ?? line) : (labels.model_line ?? line),
    version: model.versionId ?? "",
    artifactUri: model.artifactUri ?? "",
    runId: parsed.success ? parsed.data.runId : (labels.run_id ?? ""),
    aliases: [...(model.versionAliases ?? [])],
    metrics,
    createdAt: created
      ? new Date(Number(created.seconds ?? 0) * 1000 + Math.floor((created.nanos ?? 0) / 1e6)).toISOString()
      : new Date(0).toISOString(),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
