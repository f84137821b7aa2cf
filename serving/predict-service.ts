// The endpoint itself, whatever hosts it: routes a request to health or predict and answers with a status and a JSON
// body. Bad input is a 4xx naming the field; an unexpected failure is a 500 with no detail; nothing escapes.
import type { Logger } from "../platform/ports/logger.ts";
import { errorBody, HttpError } from "./http-error.ts";
import type { ModelHolder } from "./model-holder.ts";
import { parsePredictRequest } from "./predict-request.ts";
import { prepareInstance } from "./prepare-instance.ts";
import { textBudget } from "./text-budget.ts";
import type { ReviewInput } from "../gpu-jobs/inference/index.ts";

/** The body as the host has it: not read yet as JSON (bytes), already parsed by the host, or absent. */
export type RequestBody =
  { kind: "none" } | { kind: "bytes"; bytes: Buffer } | { kind: "parsed"; value: unknown; size: number };

export interface ServiceRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  body: RequestBody;
}

export interface ServiceResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface Routes {
  predict: readonly string[];
  health: readonly string[];
}

export interface PredictServiceOptions {
  holder: ModelHolder;
  log: Logger;
  routes: Routes;
  maxInstances: number;
  maxBodyBytes: number;
}

/** Seconds a caller should wait before retrying while the model is not loaded. */
const RETRY_AFTER_S = "5";

/** Milliseconds of preparing instances after which a request lets the event loop run (health checks answer in time). */
const YIELD_AFTER_MS = 4;

export class PredictService {
  constructor(private readonly options: PredictServiceOptions) {}

  get maxBodyBytes(): number {
    return this.options.maxBodyBytes;
  }

  /** Starts loading the model now instead of on the first request. */
  warmUp(): void {
    this.options.holder.start();
  }

  /** Resolves once the model is loaded; rejects with the load's error. */
  async ready(): Promise<void> {
    await this.options.holder.get();
  }

  /** Releases the onnxruntime session. */
  close(): Promise<void> {
    return this.options.holder.close();
  }

  async handle(request: ServiceRequest): Promise<ServiceResponse> {
    try {
      const { routes } = this.options;
      if (routes.health.includes(request.path)) {
        if (request.method !== "GET" && request.method !== "HEAD")
          throw new HttpError(405, `${request.path} answers GET`, null, { Allow: "GET, HEAD" });
        return this.health();
      }
      if (routes.predict.includes(request.path)) {
        if (request.method !== "POST")
          throw new HttpError(405, `${request.path} answers POST with {"instances": [...]}`, null, {
            Allow: "POST",
          });
        return await this.predict(request.body);
      }
      throw new HttpError(
        404,
        `no route ${request.path}: POST ${routes.predict[0] ?? "/predict"} or GET ${routes.health[0] ?? "/health"}`,
      );
    } catch (err) {
      return this.failure(err, request);
    }
  }

  /** Whether `path` is a predict route (hosts bound the predictions they hold, not health checks). */
  isPredictRoute(path: string): boolean {
    return this.options.routes.predict.includes(path);
  }

  /** 503 for a prediction shed because the host is full (`cause`); the caller may retry after `retryAfterS`. */
  overloaded(cause: string, retryAfterS: string): ServiceResponse {
    // Not logged one by one: under overload that would be a flood (the host logs a summary).
    return json(503, errorBody(503, `the server is overloaded (${cause}): retry later`, null), {
      "Retry-After": retryAfterS,
    });
  }

  /** 413 for a body over the limit, before anything reads it (hosts that stream the body call this). */
  tooLarge(size: number | null): ServiceResponse {
    return this.failure(
      new HttpError(
        413,
        `the request body${size !== null ? ` (${size} bytes)` : ""} is over the limit of ${this.options.maxBodyBytes} bytes`,
      ),
      null,
    );
  }

  private health(): ServiceResponse {
    const { holder } = this.options;
    const s = holder.state;
    if (s.status === "ready") {
      return json(200, {
        status: "ok",
        model: s.model.info,
        batches: s.model.batchStats,
        memory: memoryMiB(),
      });
    }
    // A host that loads lazily (the function) starts loading on the first health check; after a failure, a health
    // check tries again once the holder's pause has passed.
    if (s.status === "idle" || s.status === "failed") holder.start();
    const state = holder.state;
    const body =
      state.status === "failed"
        ? { status: "failed", error: state.error.message }
        : { status: "loading", model: null };
    return json(503, body, { "Retry-After": RETRY_AFTER_S });
  }

  private async predict(body: RequestBody): Promise<ServiceResponse> {
    const { holder, maxInstances, maxBodyBytes } = this.options;
    const size = body.kind === "bytes" ? body.bytes.length : body.kind === "parsed" ? body.size : 0;
    if (size > maxBodyBytes) return this.tooLarge(size);
    const { field, instances } = parsePredictRequest(parseBody(body), { maxInstances });
    let model;
    try {
      model = await holder.get();
    } catch (err) {
      throw new HttpError(503, `the model is not available: ${(err as Error).message}`, null, {
        "Retry-After": RETRY_AFTER_S,
      });
    }
    const features = model.model.metadata.features;
    const budget = textBudget(model.model.tokenizer.maxLength);
    const reviews: ReviewInput[] = [];
    let since = performance.now();
    for (const [i, x] of instances.entries()) {
      reviews.push(prepareInstance(x, features, `${field}[${i}]`, budget));
      // Cleaning runs on the event loop: let health checks and other requests in between instances.
      if (performance.now() - since > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
    const predictions = await model.predict(reviews);
    return json(200, { predictions, model: model.info });
  }

  private failure(err: unknown, request: ServiceRequest | null): ServiceResponse {
    if (err instanceof HttpError) {
      // Messages name fields and types, never review text, so they may be logged.
      this.options.log.log(err.status >= 500 ? "WARNING" : "INFO", `predict: ${err.status} ${err.message}`, {
        status: err.status,
        ...(err.field !== null ? { field: err.field } : {}),
        ...(request ? { method: request.method, path: request.path } : {}),
      });
      return json(err.status, errorBody(err.status, err.message, err.field), err.headers);
    }
    this.options.log.error("predict: unexpected failure", {
      error: err,
      ...(request ? { method: request.method, path: request.path } : {}),
    });
    return json(500, errorBody(500, "internal error: the failure is logged"));
  }
}

function parseBody(body: RequestBody): unknown {
  if (body.kind === "parsed") return body.value;
  if (body.kind === "none" || body.bytes.length === 0) {
    throw new HttpError(400, 'the request body is empty: send {"instances": [...]}');
  }
  try {
    return JSON.parse(body.bytes.toString("utf8"));
  } catch (err) {
    // The parser's message may quote the body: say only where it broke.
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message)?.[1];
    const where =
      at !== undefined
        ? ` (at position ${at})`
        : /end of JSON input/.test(message)
          ? " (it ends too early)"
          : "";
    throw new HttpError(400, `the request body is not valid JSON${where}`);
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ServiceResponse {
  return { status, headers, body };
}

/** The process's memory in MiB: resident, V8 heap used, and memory outside the heap (Buffers and other C++ objects). */
function memoryMiB(): { rss: number; heapUsed: number; external: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  const mib = (n: number): number => Math.round(n / 1048576);
  return {
    rss: mib(m.rss),
    heapUsed: mib(m.heapUsed),
    external: mib(m.external),
    arrayBuffers: mib(m.arrayBuffers),
  };
}
