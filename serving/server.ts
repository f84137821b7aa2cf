// `npm run serve` and the serving container's entry: reads the config once, loads the model (MODEL_URI), serves it
// over HTTP on AIP_HTTP_PORT / PORT / 8080, and stops cleanly on SIGTERM.
import { loadConfig } from "../schemas/load-config.ts";
import { JsonLogger } from "../platform/json-logger.ts";
import { createModelRegistry, createObjectStore } from "../platform/composition-root.ts";
import type { ModelRegistry } from "../platform/ports/model-registry.ts";
import { PermissionDeniedError, type ObjectStore } from "../platform/ports/object-store.ts";
import { containerSettings, startContainerServer } from "./container-server.ts";
import { loadServedModel } from "./load-served-model.ts";
import { isSetupError, ModelHolder } from "./model-holder.ts";
import { PredictService } from "./predict-service.ts";
import { configuredModelLine } from "../schemas/model-line.ts";

const started = performance.now();
const log = new JsonLogger({ labels: { component: "predict-server" } });

process.on("uncaughtException", (err) => {
  log.log("CRITICAL", `predict server: uncaught exception: ${err.message}`, { error: err });
  process.exit(1);
});
process.on("unhandledRejection", (err) => {
  log.log("CRITICAL", "predict server: unhandled rejection", { error: err });
  process.exit(1);
});

async function main(): Promise<void> {
  const config = loadConfig();
  const { port, routes, modelUri } = containerSettings(process.env);
  if (modelUri !== null && process.env.MODEL_URI !== undefined && process.env.MODEL_URI !== modelUri) {
    log.warn("predict server: AIP_STORAGE_URI is set, MODEL_URI is ignored", {
      modelUri,
      ignored: process.env.MODEL_URI,
    });
  }
  const serving = { ...config.serving, modelUri: modelUri ?? config.serving.modelUri };
  let store: ObjectStore | undefined;
  let registry: ModelRegistry | undefined;
  // A setup error (no model there, a broken one, or a 403 on it) will not mend itself, whether at the first load or at
  // a later retry: serving 503 for ever would hide it, so exit and let the deploy fail loudly.
  const exitOnSetupError = (err: Error): void => {
    if (!isSetupError(err)) return;
    log.log("CRITICAL", `predict server: cannot serve: ${err.message}`, {
      errorName: err.name,
      ...(err instanceof PermissionDeniedError ? { identity: err.identity } : {}),
      modelUri: serving.modelUri,
    });
    process.exit(1);
  };
  const holder = new ModelHolder({
    log,
    onFailure: exitOnSetupError,
    load: () =>
      loadServedModel(serving, {
        store: () => (store ??= createObjectStore(config)),
        registry: () => (registry ??= createModelRegistry(config)),
        modelLine: configuredModelLine(config),
        log,
      }),
  });
  const service = new PredictService({
    holder,
    log,
    routes,
    maxInstances: config.serving.maxInstances,
    maxBodyBytes: config.serving.maxBodyBytes,
  });
  // Listen first, so that health checks see 503 while the model loads, then 200.
  const running = await startContainerServer({ service, log, port, limits: serving });
  log.info(`predict server listening on port ${running.port}`, {
    port: running.port,
    routes,
    modelUri: serving.modelUri,
    maxConnections: serving.maxConnections,
    maxPending: serving.maxPending,
    requestTimeoutMs: serving.requestTimeoutMs,
    quantized: config.serving.quantized,
    batchWindowMs: config.serving.batchWindowMs,
    maxBatchRows: config.serving.maxBatchRows,
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info(`predict server: ${signal}, finishing requests in flight`);
    setTimeout(() => process.exit(0), 10_000).unref();
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("predict server: could not stop cleanly", { error: err });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));

  try {
    await service.ready();
    log.info("predict server ready", { readyMs: Math.round(performance.now() - started) });
  } catch (err) {
    // A setup error has ended the process already (exitOnSetupError). A transient failure (storage, registry): keep
    // answering 503 and try again on the next request.
    if (!isSetupError(err)) log.warn("predict server: the model will be loaded again on the next request");
  }
}

main().catch((err: unknown) => {
  log.log("CRITICAL", `predict server: failed to start: ${(err as Error).message}`, { error: err });
  process.exit(1);
});
