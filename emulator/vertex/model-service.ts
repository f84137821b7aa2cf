// The stand-in's ModelService: versions of a model uploaded with parentModel, got by version or alias, aliases merged.
import * as grpc from "@grpc/grpc-js";
import type { VertexProtos } from "./protos.ts";
import {
  RpcError,
  checkLabels,
  invalid,
  matchesFilter,
  newNumericId,
  notFound,
  page,
  parseFilter,
  parseModelName,
  parseParent,
  timestamp,
  unary,
  type Timestamp,
} from "./resources.ts";

/** A Model version as the proto has it (camelCase); the stand-in keeps what it was given and fills the rest. */
export interface ModelProto {
  name: string;
  versionId: string;
  versionAliases: string[];
  versionCreateTime: Timestamp;
  versionUpdateTime: Timestamp;
  displayName: string;
  description: string;
  versionDescription: string;
  artifactUri: string;
  containerSpec: Record<string, unknown> | null;
  labels: Record<string, string>;
  createTime: Timestamp;
  updateTime: Timestamp;
  etag: string;
  [key: string]: unknown;
}

export interface Operation {
  name: string;
  done: boolean;
  metadata: { typeUrl: string; value: Buffer } | null;
  response?: { typeUrl: string; value: Buffer };
  error?: { code: number; message: string; details: unknown[] };
}

const ALIAS = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$/;

interface StoredModel {
  modelId: string;
  parent: string;
  createTime: Timestamp;
  versions: ModelProto[];
}

export class ModelService {
  private readonly models = new Map<string, StoredModel>();
  readonly operations = new Map<string, Operation>();
  /**
   * How long an upload's long-running operation runs (0: done at once). Until it is done the new version is not
   * listed, as a version Vertex has not finished creating is not; tests use it to redeliver mid-upload.
   */
  uploadDelayMs = 0;

  constructor(private readonly protos: VertexProtos) {}

  handlers(): grpc.UntypedServiceImplementation {
    return {
      uploadModel: unary(
        (req: { parent: string; parentModel: string; modelId: string; model: Partial<ModelProto> | null }) =>
          this.upload(req),
      ),
      getModel: unary((req: { name: string }) => structuredClone(this.resolve(req.name))),
      listModels: unary((req: { parent: string; filter: string; pageSize: number; pageToken: string }) =>
        this.listModels(req),
      ),
      listModelVersions: unary(
        (req: { name: string; filter: string; pageSize: number; pageToken: string; orderBy: string }) =>
          this.listVersions(req),
      ),
      mergeVersionAliases: unary((req: { name: string; versionAliases: string[] }) =>
        this.mergeAliases(req.name, req.versionAliases),
      ),
    };
  }

  operationHandlers(): grpc.UntypedServiceImplementation {
    const get = (name: string): Operation => {
      const op = this.operations.get(name);
      if (!op) throw notFound(`Operation ${name}`);
      return op;
    };
    return {
      getOperation: unary((req: { name: string }) => get(req.name)),
      waitOperation: unary((req: { name: string }) => get(req.name)),
      cancelOperation: unary((req: { name: string }) => {
        get(req.name);
        return {};
      }),
      deleteOperation: unary((req: { name: string }) => {
        this.operations.delete(req.name);
        return {};
      }),
      listOperations: unary((req: { name: string }) => ({
        operations: [...this.operations.values()].filter((o) => o.name.startsWith(req.name)),
        nextPageToken: "",
      })),
    };
  }

  upload(req: {
    parent: string;
    parentModel: string;
    modelId: string;
    model: Partial<ModelProto> | null;
  }): Operation {
    parseParent(req.parent);
    const input = req.model;
    if (!input) throw invalid("model is required.");
    if (!input.displayName) throw invalid("Model.display_name is required.");
    checkLabels(input.labels ?? {});
    const aliases = input.versionAliases ?? [];
    for (const a of aliases) checkAlias(a);
    let stored: StoredModel;
    if (req.parentModel) {
      const { modelId, versionOrAlias } = parseModelName(req.parentModel);
      if (versionOrAlias) throw invalid(`parent_model must not name a version: ${req.parentModel}.`);
      const found = this.models.get(modelId);
      if (!found || `${found.parent}/models/${modelId}` !== req.parentModel)
        throw notFound(`Model ${req.parentModel}`);
      stored = found;
    } else {
      const modelId = req.modelId || newNumericId();
      if (!/^[a-z][a-z0-9_-]{0,62}$/.test(modelId)) throw invalid(`Invalid model_id "${modelId}".`);
      if (this.models.has(modelId)) {
        throw new RpcError(
          grpc.status.ALREADY_EXISTS,
          `Model ${req.parent}/models/${modelId} already exists; upload a version with parent_model.`,
        );
      }
      stored = { modelId, parent: req.parent, createTime: timestamp(), versions: [] };
      this.models.set(modelId, stored);
    }
    const opName = `${stored.parent}/models/${stored.modelId}/operations/${newNumericId()}`;
    const op: Operation = {
      name: opName,
      done: false,
      metadata: this.protos.pack("google.cloud.aiplatform.v1.UploadModelOperationMetadata", {
        genericMetadata: { createTime: timestamp(), updateTime: timestamp() },
      }),
    };
    this.operations.set(opName, op);
    const finish = () => this.finishUpload(stored, input, aliases, op);
    if (this.uploadDelayMs > 0) setTimeout(finish, this.uploadDelayMs).unref();
    else finish();
    return op;
  }

  private finishUpload(
    stored: StoredModel,
    input: Partial<ModelProto>,
    aliases: string[],
    op: Operation,
  ): void {
    const now = timestamp();
    const versionId = String(stored.versions.length + 1);
    const version: ModelProto = {
      ...(input as Record<string, unknown>),
      name: `${stored.parent}/models/${stored.modelId}`,
      versionId,
      versionAliases: [],
      versionCreateTime: now,
      versionUpdateTime: now,
      displayName: input.displayName ?? "",
      description: input.description ?? "",
      versionDescription: input.versionDescription ?? "",
      artifactUri: input.artifactUri ?? "",
      containerSpec: input.containerSpec ?? null,
      labels: { ...(input.labels ?? {}) },
      createTime: stored.createTime,
      updateTime: now,
      etag: `v${versionId}-${Date.now().toString(36)}`,
    };
    stored.versions.push(version);
    // The first version carries the default alias, as Vertex does; aliases in the request move to the new version.
    this.applyAliases(stored, version, stored.versions.length === 1 ? ["default", ...aliases] : aliases);
    op.done = true;
    op.metadata = this.protos.pack("google.cloud.aiplatform.v1.UploadModelOperationMetadata", {
      genericMetadata: { createTime: now, updateTime: now },
    });
    op.response = this.protos.pack("google.cloud.aiplatform.v1.UploadModelResponse", {
      model: version.name,
      modelVersionId: versionId,
    });
  }

  /** A model name with `@version`, `@alias` or neither (the default version). */
  resolve(name: string): ModelProto {
    const { modelId, versionOrAlias } = parseModelName(name);
    const stored = this.models.get(modelId);
    if (!stored || !name.startsWith(`${stored.parent}/models/${modelId}`)) throw notFound(`Model ${name}`);
    const key = versionOrAlias ?? "default";
    const version = /^\d+$/.test(key)
      ? stored.versions.find((v) => v.versionId === key)
      : stored.versions.find((v) => v.versionAliases.includes(key));
    if (!version) throw notFound(`Model ${name}`);
    return version;
  }

  listModels(req: { parent: string; filter: string; pageSize: number; pageToken: string }): {
    models: ModelProto[];
    nextPageToken: string;
  } {
    parseParent(req.parent);
    const terms = parseFilter(req.filter ?? "");
    const defaults = [...this.models.values()]
      .filter((m) => m.parent === req.parent)
      .map((m) => m.versions.find((v) => v.versionAliases.includes("default"))!)
      .filter((v) => matchesFilter(terms, { display_name: v.displayName }, v.labels));
    const { items, nextPageToken } = page(defaults, req.pageSize, req.pageToken);
    return { models: items.map((m) => structuredClone(m)), nextPageToken };
  }

  listVersions(req: { name: string; filter: string; pageSize: number; pageToken: string; orderBy: string }): {
    models: ModelProto[];
    nextPageToken: string;
  } {
    const { modelId, versionOrAlias } = parseModelName(req.name);
    if (versionOrAlias) throw invalid(`ListModelVersions takes a model name without a version: ${req.name}.`);
    const stored = this.models.get(modelId);
    if (!stored) throw notFound(`Model ${req.name}`);
    const terms = parseFilter(req.filter ?? "");
    const matching = stored.versions.filter((v) =>
      matchesFilter(terms, { display_name: v.displayName }, v.labels),
    );
    const ordered = /desc/i.test(req.orderBy ?? "") ? [...matching].reverse() : matching;
    const { items, nextPageToken } = page(ordered, req.pageSize, req.pageToken);
    return { models: items.map((m) => structuredClone(m)), nextPageToken };
  }

  mergeAliases(name: string, aliases: string[]): ModelProto {
    const { modelId, versionOrAlias } = parseModelName(name);
    if (!versionOrAlias || !/^\d+$/.test(versionOrAlias))
      throw invalid(`MergeVersionAliases needs a model name with a version id: ${name}.`);
    if (aliases.length === 0) throw invalid("version_aliases must not be empty.");
    const stored = this.models.get(modelId);
    const version = stored?.versions.find((v) => v.versionId === versionOrAlias);
    if (!stored || !version) throw notFound(`Model ${name}`);
    for (const a of aliases) checkAlias(a.replace(/^-/, ""));
    if (aliases.includes("-default"))
      throw invalid("The default alias cannot be removed; add it to another version instead.");
    this.applyAliases(stored, version, aliases);
    return structuredClone(version);
  }

  private applyAliases(stored: StoredModel, version: ModelProto, aliases: string[]): void {
    const now = timestamp();
    for (const raw of aliases) {
      if (raw.startsWith("-")) {
        version.versionAliases = version.versionAliases.filter((a) => a !== raw.slice(1));
        continue;
      }
      // An alias names one version at a time: applying it elsewhere takes it from its previous holder.
      for (const other of stored.versions) {
        if (other !== version && other.versionAliases.includes(raw)) {
          other.versionAliases = other.versionAliases.filter((a) => a !== raw);
          other.versionUpdateTime = now;
        }
      }
      if (!version.versionAliases.includes(raw)) version.versionAliases.push(raw);
    }
    version.versionUpdateTime = now;
  }
}

function checkAlias(alias: string): void {
  if (!ALIAS.test(alias) || /^\d+$/.test(alias)) throw invalid(`Invalid version alias "${alias}".`);
}
