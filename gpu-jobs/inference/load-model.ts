// Loads a model folder (model.onnx or model.int8.onnx, tokenizer, labels, metadata) and checks that its parts agree.
import type { InferenceSession } from "onnxruntime-node";
import type { z } from "zod";
import { LabelMap, ModelFiles, ModelMetadata } from "../../schemas/model.ts";
import { FEATURE_NAMES } from "../../schemas/review.ts";
import { InvalidModelError } from "./model-errors.ts";
import { readModelFile, sourceUri, type ModelSource } from "./model-source.ts";
import { inspectOnnx } from "./onnx-graph.ts";
import { ReviewTokenizer } from "./review-tokenizer.ts";
import { openSession, type Provider, type SessionSettings } from "./session.ts";

const FILES = ModelFiles.parse({
  onnx: "model.onnx",
  onnxInt8: "model.int8.onnx",
  tokenizer: "tokenizer.json",
  labels: "labels.json",
});

export interface LoadModelOptions extends SessionSettings {
  /** Load model.int8.onnx instead of model.onnx. */
  quantized?: boolean;
}

export interface LoadedModel {
  /** The folder it came from. */
  uri: string;
  /** The ONNX file in use. */
  file: string;
  metadata: ModelMetadata;
  labels: LabelMap;
  tokenizer: ReviewTokenizer;
  session: InferenceSession;
  provider: Provider;
  threads: number;
  /** Why the CUDA provider was not used, when it was not (null when it was, or when the CPU was asked for). */
  fallbackReason: string | null;
  /** Rows of the embedding table `input_ids` index, when the graph shows it. */
  embeddingRows: number | null;
  /** Whether the model takes the side features (`features` input). */
  usesFeatures: boolean;
  release(): Promise<void>;
}

/**
 * Awaits parallel reads and, when some fail, throws the first failure in the order given (not the first to
 * settle), so the error a user sees for a broken folder does not depend on which read the store answered first.
 */
async function readAllInOrder<T extends readonly unknown[]>(reads: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(reads);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Loads and checks a model folder; anything wrong with the folder is an InvalidModelError naming the problem. */
export async function loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const uri = sourceUri(source);
  const [metadataBytes, labelBytes, tokenizerBytes] = await readAllInOrder([
    readModelFile(source, "metadata.json"),
    readModelFile(source, FILES.labels),
    readModelFile(source, FILES.tokenizer),
  ]);
  const metadata = parseJson(metadataBytes, `${uri}/metadata.json`, ModelMetadata);
  const file = servedFile(metadata, options.quantized === true);
  const onnxBytes = await readModelFile(source, file);
  const labels = parseJson(labelBytes, `${uri}/${FILES.labels}`, LabelMap);
  const tokenizer = ReviewTokenizer.fromJson(tokenizerBytes.toString("utf8"), `${uri}/${FILES.tokenizer}`);
  const facts = inspectOnnx(onnxBytes, `${uri}/${file}`);
  checkParts(uri, file, metadata, tokenizer, facts.embeddingRows);

  const opened = await openSession(onnxBytes, `${uri}/${file}`, options);
  try {
    checkSession(`${uri}/${file}`, opened.session, metadata);
  } catch (err) {
    await opened.session.release();
    throw err;
  }
  return {
    uri,
    file,
    metadata,
    labels,
    tokenizer,
    session: opened.session,
    provider: opened.provider,
    threads: opened.threads,
    fallbackReason: opened.fallbackReason,
    embeddingRows: facts.embeddingRows,
    usesFeatures: metadata.inputs.includes("features"),
    release: () => opened.session.release(),
  };
}

/**
 * The ONNX file to load: int8 when asked for, unless the trainer judged that export worse than fp32 beyond its
 * tolerance (metadata.json `quantization.served`), in which case fp32 is what this model serves.
 */
export function servedFile(metadata: ModelMetadata, quantized: boolean): string {
  if (!quantized) return FILES.onnx;
  return metadata.quantization?.served === "fp32" ? FILES.onnx : FILES.onnxInt8;
}

function parseJson<T>(bytes: Buffer, file: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new InvalidModelError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    throw new InvalidModelError(`${file} does not match its schema: ${issues.join("; ")}`);
  }
  return parsed.data;
}

/** Metadata, labels, tokenizer and graph must describe the same model. */
function checkParts(
  uri: string,
  file: string,
  metadata: ModelMetadata,
  tokenizer: ReviewTokenizer,
  embeddingRows: number | null,
): void {
  if (tokenizer.maxLength !== metadata.maxLength) {
    throw new InvalidModelError(
      `${uri}: tokenizer.json truncates at ${tokenizer.maxLength} tokens but metadata.json says maxLength ${metadata.maxLength}`,
    );
  }
  if (embeddingRows !== null && tokenizer.vocabSize > embeddingRows) {
    throw new InvalidModelError(
      `${uri}: tokenizer.json has ${tokenizer.vocabSize} tokens but ${file}'s embedding table has ${embeddingRows} rows: ` +
        "the tokenizer does not belong to this model",
    );
  }
  if (embeddingRows !== null && tokenizer.padId >= embeddingRows) {
    throw new InvalidModelError(
      `${uri}: the padding id ${tokenizer.padId} is beyond ${file}'s ${embeddingRows} embedding rows`,
    );
  }
  const usesFeatures = metadata.inputs.includes("features");
  if (usesFeatures !== (metadata.features !== null)) {
    throw new InvalidModelError(
      `${uri}: metadata.json ${usesFeatures ? "lists a features input but has no feature statistics" : "has feature statistics but no features input"}`,
    );
  }
}

/** The session's inputs must be exactly the metadata's, with the types this module feeds, and one output: logits. */
function checkSession(file: string, session: InferenceSession, metadata: ModelMetadata): void {
  const expected = [...metadata.inputs].sort();
  const actual = [...session.inputNames].sort();
  if (expected.join(",") !== actual.join(",")) {
    throw new InvalidModelError(
      `${file} takes inputs [${session.inputNames.join(", ")}] but metadata.json lists [${metadata.inputs.join(", ")}]`,
    );
  }
  if (session.outputNames.length !== 1 || session.outputNames[0] !== "logits") {
    throw new InvalidModelError(
      `${file} outputs [${session.outputNames.join(", ")}]; expected exactly [logits]`,
    );
  }
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw new InvalidModelError(`${file}: input ${meta.name} is not a tensor`);
    const want = meta.name === "features" ? "float32" : "int64";
    if (meta.type !== want)
      throw new InvalidModelError(`${file}: input ${meta.name} is ${meta.type}; expected ${want}`);
    const last = meta.shape.at(-1);
    if (meta.name === "features" && typeof last === "number" && last !== FEATURE_NAMES.length) {
      throw new InvalidModelError(
        `${file}: input features takes ${last} values per row; the data has ${FEATURE_NAMES.length}`,
      );
    }
  }
  const out = session.outputMetadata[0];
  if (out?.isTensor) {
    const classes = out.shape.at(-1);
    if (typeof classes === "number" && classes !== metadata.labels.length) {
      throw new InvalidModelError(
        `${file}: logits has ${classes} classes; labels.json has ${metadata.labels.length}`,
      );
    }
  }
}
