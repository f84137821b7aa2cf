// The service over plain node:http, for the serving container (Vertex AI's custom container contract) and
// `npm run serve`: the body is read with its size limit enforced while it streams in.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../platform/ports/logger.ts";
import { ByteBudget, readBody, type BodyResult } from "./body-reader.ts";
import { PendingGate } from "./pending-gate.ts";
import type { PredictService, Routes, ServiceResponse } from "./predict-service.ts";

/**
 * Vertex AI's custom container contract: port and routes from AIP_* variables, PORT (Cloud Run, `npm run serve`) else
 * 8080; and the model from AIP_STORAGE_URI when set. Vertex copies the registered model's artifactUri there and the
 * container's identity may read only that copy, so it takes precedence over MODEL_URI.
 */
export function containerSettings(env: NodeJS.ProcessEnv): {
  port: number;
  routes: Routes;
  modelUri: string | null;
} {
  const portText = env.AIP_HTTP_PORT ?? env.PORT ?? "8080";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(
      `${env.AIP_HTTP_PORT !== undefined ? "AIP_HTTP_PORT" : "PORT"} must be a port number, got ${portText}`,
    );
  }
  const route = (name: string, value: string | undefined): string[] => {
    if (value === undefined || value === "") return [];
    if (!value.startsWith("/")) throw new Error(`${name} must be a path starting with /, got ${value}`);
    return [value];
  };
  const storage = env.AIP_STORAGE_URI;
  if (storage !== undefined && storage !== "" && !storage.startsWith("gs://")) {
    throw new Error(`AIP_STORAGE_URI must be a gs:// URI, got ${storage}`);
  }
  return {
    port,
    modelUri: storage !== undefined && storage !== "" ? storage : null,
    routes: {
      predict: unique([...route("AIP_PREDICT_ROUTE", env.AIP_PREDICT_ROUTE), "/predict"]),
      health: unique([...route("AIP_HEALTH_ROUTE", env.AIP_HEALTH_ROUTE), "/health"]),
    },
  };
}

/** What one client, or many, may hold of the server (config.serving; the defaults are documented there). */
export interface ServerLimits {
  maxConnections: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxPending: number;
  maxBufferedBytes: number;
}

/** Seconds a caller shed for load should wait before retrying. */
const SHED_RETRY_AFTER_S = "1";

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops taking connections, lets requests in flight finish, then releases the model. */
  close(): Promise<void>;
}

export async function startContainerServer(options: {
  service: PredictService;
  log: Logger;
  port: number;
  host?: string;
  limits: ServerLimits;
}): Promise<RunningServer> {
  const { service, log, limits } = options;
  const bounds = {
    gate: new PendingGate(limits.maxPending),
    budget: new ByteBudget(limits.maxBufferedBytes),
  };
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  const server = createServer(
    {
      // A client that has not sent its whole request in time gets 408 and its connection is closed (slowloris): idle
      // new connections and slow headers or bodies alike. Node checks every connectionsCheckingInterval, 30 s by
      // default: check often enough that the timeouts mean what they say.
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      handle(service, bounds, log, req, res).catch((err: unknown) => {
        // handle() answers every failure itself; this is a last guard so a bug cannot take the process down.
        log.error("predict server: a request failed outside the service", { error: err });
        if (!res.headersSent)
          send(res, { status: 500, headers: {}, body: { error: { code: 500, message: "internal error" } } });
        else res.destroy();
      });
    },
  );
  // Past this many open connections, new ones are closed as they arrive: file descriptors stay bounded.
  server.maxConnections = limits.maxConnections;
  const dropLog = oncePerMinute();
  server.on("drop", () => {
    if (!dropLog()) return;
    log.warn(`predict server: ${limits.maxConnections} connections open, closing new ones`, {
      maxConnections: limits.maxConnections,
    });
  });
  // Load balancers keep connections open for long; close idle ones after their timeout, not ours.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await service.close();
    },
  };
}

async function handle(
  service: PredictService,
  bounds: { gate: PendingGate; budget: ByteBudget },
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const method = req.method ?? "GET";
  if (method !== "POST" || !service.isPredictRoute(path)) {
    req.resume();
    send(res, await service.handle({ method, path, body: { kind: "none" } }));
    return;
  }
  const declared = req.headers["content-length"] !== undefined ? Number(req.headers["content-length"]) : null;
  let read: BodyResult;
  try {
    read = await readBody(req, service.maxBodyBytes, bounds.budget);
  } catch {
    // The client went away mid-body: nobody is left to answer.
    res.destroy();
    return;
  }
  if (read.kind === "too-large") {
    const out = service.tooLarge(declared);
    // Past the drain limit the rest of the body was not read: the connection cannot be reused.
    if (read.drained) send(res, out);
    else send(res, { ...out, headers: { ...out.headers, Connection: "close" } }, () => req.destroy());
    return;
  }
  if (read.kind === "over-budget") {
    shed(service, log, `${bounds.budget.limit} bytes of request bodies held`, res, () => req.destroy());
    return;
  }
  try {
    // Past the bound a queue would only hold memory and answer too late to matter: shed at once.
    if (!bounds.gate.enter()) {
      shed(service, log, `${bounds.gate.limit} predictions pending`, res);
      return;
    }
    try {
      send(res, await service.handle({ method, path, body: { kind: "bytes", bytes: read.bytes } }));
    } finally {
      bounds.gate.leave();
    }
  } finally {
    read.release();
  }
}

/** 503 with Retry-After; the cause is logged at most once a minute. `after` runs once the answer is written. */
function shed(
  service: PredictService,
  log: Logger,
  cause: string,
  res: ServerResponse,
  after?: () => void,
): void {
  if (shedLog()) log.warn(`predict server: ${cause}, answering 503 to new predictions`);
  const out = service.overloaded(cause, SHED_RETRY_AFTER_S);
  send(res, after ? { ...out, headers: { ...out.headers, Connection: "close" } } : out, after);
}

function send(res: ServerResponse, out: ServiceResponse, after?: () => void): void {
  const payload = out.status === 204 ? "" : JSON.stringify(out.body);
  res.writeHead(out.status, {
    ...out.headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(res.req.method === "HEAD" ? undefined : payload, after);
}

/** True at most once a minute: an overload must not become a flood of log lines. */
function oncePerMinute(): () => boolean {
  let last = -Infinity;
  return () => {
    const now = Date.now();
    if (now - last < 60_000) return false;
    last = now;
    return true;
  };
}

const shedLog = oncePerMinute();

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
