// Loads the model the config names, once: find the folder (champion, run, model), cache gs:// files on the local
// disk, open the onnxruntime session, and warm it up with one prediction.
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Serving } from "../schemas/config.ts";
import { loadModel } from "../gpu-jobs/inference/index.ts";
import { servedFile } from "../gpu-jobs/inference/load-model.ts";
import { ModelMetadata } from "../schemas/model.ts";
import type { Logger } from "../platform/ports/logger.ts";
import { servingThreads } from "./cpu-budget.ts";
import { cacheModelFolder, servedFiles } from "./model-cache.ts";
import { locateModel, type LocateDeps } from "./model-location.ts";
import { prepareInstance } from "./prepare-instance.ts";
import { ServedModel, type ModelInfo } from "./served-model.ts";
import { textBudget } from "./text-budget.ts";
import { InThreadRunner, WorkerPool, type BatchRunner } from "./worker-pool.ts";
import type { Timers } from "./micro-batcher.ts";

export interface LoadServedModelDeps extends LocateDeps {
  log: Logger;
  timers?: Timers;
}

export function defaultCacheDir(): string {
  return join(tmpdir(), "sentiment-pipeline", "models");
}

async function servedOnnxFile(folder: string, quantized: boolean, deps: LocateDeps): Promise<string> {
  if (!quantized) return "model.onnx";
  const bytes = folder.startsWith("gs://")
    ? await deps.store().read(`${folder}/metadata.json`)
    : await readFile(join(folder, "metadata.json"));
  const parsed = ModelMetadata.safeParse(JSON.parse(bytes.toString("utf8")));
  // A folder that does not parse is loaded as asked, so that loadModel reports what is wrong with it.
  return parsed.success ? servedFile(parsed.data, true) : "model.int8.onnx";
}

export async function loadServedModel(serving: Serving, deps: LoadServedModelDeps): Promise<ServedModel> {
  const started = performance.now();
  const location = await locateModel(serving.modelUri, "model.onnx", deps);
  // An int8 export the trainer refused (worse than fp32 beyond its tolerance) is never served: fp32 is.
  const onnxFile = await servedOnnxFile(location.folder, serving.quantized, deps);
  let dir = location.folder;
  if (location.folder.startsWith("gs://")) {
    const cached = await cacheModelFolder(
      deps.store(),
      location.folder,
      servedFiles(onnxFile),
      serving.cacheDir ?? defaultCacheDir(),
    );
    dir = cached.dir;
    deps.log.info(
      cached.downloaded ? "model files downloaded to the cache" : "model files found in the cache",
      {
        modelUri: location.folder,
        cacheDir: cached.dir,
      },
    );
  }
  const { workers, threads } = servingThreads(serving);
  // The main thread loads the folder first: a broken model fails here, with InvalidModelError naming the problem.
  const model = await loadModel(dir, {
    quantized: serving.quantized,
    threads,
    provider: "cpu",
    // Between runs this process parses HTTP and tokenizes on the same few cores: idle ORT threads must sleep.
    spinWait: false,
  });
  let runner: BatchRunner;
  if (workers > 0) {
    try {
      runner = await WorkerPool.start(
        {
          dir,
          quantized: serving.quantized,
          threads,
          maxBatchRows: serving.maxBatchRows,
          nice: serving.workerNice,
        },
        workers,
        deps.log,
      );
    } finally {
      // The workers have their own sessions; the main thread keeps only the tokenizer, labels and metadata.
      await model.release();
    }
  } else {
    runner = new InThreadRunner(model, serving.maxBatchRows);
  }
  const m = model.metadata;
  const info: ModelInfo = {
    runId: m.runId,
    trainAttempt: m.trainAttempt,
    family: m.family,
    baseModel: m.baseModel,
    registryVersion: location.registryVersion,
    uri: location.folder,
    file: model.file,
    quantized: serving.quantized,
    workers,
    threads,
    maxLength: m.maxLength,
    usesSideFeatures: model.usesFeatures,
    createdAt: m.createdAt,
  };
  const served = new ServedModel(model, info, runner, {
    windowMs: serving.batchWindowMs,
    maxBatchRows: serving.maxBatchRows,
    ...(deps.timers ? { timers: deps.timers } : {}),
  });
  try {
    // The first run allocates onnxruntime's buffers: pay for it here, not in the first caller's latency.
    const probe = { text: "warm up", title: null, price: null, helpfulVote: null, verifiedPurchase: null };
    await served.predict([
      prepareInstance(probe, m.features, "warm-up", textBudget(model.tokenizer.maxLength)),
    ]);
  } catch (err) {
    await served.release();
    throw err;
  }
  deps.log.info("model loaded", {
    model: info,
    loadMs: Math.round(performance.now() - started),
  });
  return served;
}
