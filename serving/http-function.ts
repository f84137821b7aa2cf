// The `predict` HTTP function for Cloud Functions: the same service as the container server, behind functions-framework.
import * as ff from "@google-cloud/functions-framework";
import type { HttpFunction, Request } from "@google-cloud/functions-framework";
import type { PipelineConfig } from "../schemas/config.ts";
import type { Logger } from "../platform/ports/logger.ts";
import type { ModelRegistry } from "../platform/ports/model-registry.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import { loadServedModel } from "./load-served-model.ts";
import { ModelHolder } from "./model-holder.ts";
import { PredictService, type RequestBody } from "./predict-service.ts";
import { configuredModelLine } from "../schemas/model-line.ts";

/** The deployed entry point (`--entry-point`), as deploy/settings.ts names it. */
export const PREDICT_ENTRY_POINT = "predict";

/** A function's URL is its root: POST / (or /predict) predicts, GET /health tells whether the model is loaded. */
export const FUNCTION_ROUTES = { predict: ["/", "/predict"], health: ["/health"] } as const;

export interface PredictFunctionDeps {
  config: PipelineConfig;
  store: ObjectStore;
  registry: ModelRegistry;
  log: Logger;
}

export function makePredictService(deps: PredictFunctionDeps, routes = FUNCTION_ROUTES): PredictService {
  const log = deps.log.child({ component: "predict" });
  const holder = new ModelHolder({
    log,
    load: () =>
      loadServedModel(deps.config.serving, {
        store: () => deps.store,
        registry: () => deps.registry,
        modelLine: configuredModelLine(deps.config),
        log,
      }),
  });
  return new PredictService({
    holder,
    log,
    routes,
    maxInstances: deps.config.serving.maxInstances,
    maxBodyBytes: deps.config.serving.maxBodyBytes,
  });
}

export function makePredictFunction(service: PredictService): HttpFunction {
  return async (req, res) => {
    const out = await service.handle({ method: req.method, path: req.path, body: bodyOf(req) });
    res.status(out.status).set(out.headers).json(out.body);
  };
}

/**
 * Registers `predict`. The model loads on the first request, or at once when this instance serves predict
 * (FUNCTION_TARGET, set by Cloud Run functions), so that other functions sharing the entry module never load it.
 */
export function registerPredict(
  deps: PredictFunctionDeps,
  prefix = "",
  env: NodeJS.ProcessEnv = process.env,
): PredictService {
  const service = makePredictService(deps);
  const name = `${prefix}${PREDICT_ENTRY_POINT}`;
  ff.http(name, makePredictFunction(service));
  if (env.FUNCTION_TARGET === name) service.warmUp();
  return service;
}

/**
 * functions-framework has read the body already: JSON bodies arrive parsed (with the bytes in rawBody), others as a
 * string or bytes, which the service parses as JSON itself whatever the content type says.
 */
function bodyOf(req: Request): RequestBody {
  const raw = req.rawBody;
  if (raw === undefined) {
    if (Buffer.isBuffer(req.body)) return { kind: "bytes", bytes: req.body };
    if (typeof req.body === "string") return { kind: "bytes", bytes: Buffer.from(req.body) };
    return { kind: "none" };
  }
  if (req.is("json")) return { kind: "parsed", value: req.body as unknown, size: raw.length };
  return { kind: "bytes", bytes: raw };
}
