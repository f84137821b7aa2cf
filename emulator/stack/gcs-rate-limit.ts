// A proxy in front of fake-gcs-server that refuses a second mutation of one object name within a second, as Cloud Storage does (429).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Cloud Storage allows about one write per second to the same object name ("Maximum rate of writes to the same
 * object name: one write per second", https://cloud.google.com/storage/quotas) and answers 429 beyond it, which
 * clients retry with exponential backoff. fake-gcs-server has no such limit, so code that rewrites one object per
 * event passes every local test and fails in the cloud. This proxy restores the limit for the emulator stack.
 */
export interface GcsRateLimitOptions {
  /** fake-gcs-server's URL, e.g. http://127.0.0.1:4444 */
  target: string;
  host?: string;
  port?: number;
  /** Minimum time between two mutations of one object name. */
  windowMs?: number;
}

export interface RateLimitedGcs {
  url: string;
  port: number;
  /** Every refused mutation, by gs:// URI: what tests check. */
  refused: string[];
  /** Successful mutations per gs:// URI. */
  writes: Map<string, number>;
  close(): Promise<void>;
}

const RATE_LIMITED = {
  error: {
    code: 429,
    message:
      "The object exceeded the rate limit for object mutation operations (create, update, and delete). " +
      "Please reduce your request rate. See https://cloud.google.com/storage/docs/gcs429.",
    errors: [
      {
        message:
          "The object exceeded the rate limit for object mutation operations (create, update, and delete).",
        domain: "usageLimits",
        reason: "rateLimitExceeded",
      },
    ],
  },
};

export async function startRateLimitedGcs(options: GcsRateLimitOptions): Promise<RateLimitedGcs> {
  const target = new URL(options.target);
  const windowMs = options.windowMs ?? 1000;
  const lastWrite = new Map<string, number>();
  const refused: string[] = [];
  const writes = new Map<string, number>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const object = mutatedObject(req, body);
      if (object) {
        const last = lastWrite.get(object);
        if (last !== undefined && Date.now() - last < windowMs) {
          refused.push(object);
          res.writeHead(429, { "content-type": "application/json; charset=UTF-8" });
          res.end(JSON.stringify(RATE_LIMITED));
          return;
        }
      }
      forward(req, res, body, target, (status) => {
        if (object && status >= 200 && status < 300) {
          lastWrite.set(object, Date.now());
          writes.set(object, (writes.get(object) ?? 0) + 1);
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    refused,
    writes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  target: URL,
  done: (status: number) => void,
): void {
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host, "content-length": String(body.length) },
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on("end", () => done(up.statusCode ?? 502));
    },
  );
  upstream.on("error", (err) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`fake-gcs-server unreachable: ${err.message}`);
  });
  upstream.end(body);
}

/** The gs:// URI a request creates, replaces or deletes; null for reads and for the chunks of a resumable upload. */
export function mutatedObject(
  req: { method?: string | undefined; url?: string | undefined },
  body: Buffer,
): string | null {
  const url = new URL(req.url ?? "/", "http://x");
  const method = (req.method ?? "GET").toUpperCase();
  const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  if (upload && method === "POST") {
    const name = url.searchParams.get("name") ?? nameInMetadata(body);
    return name ? `gs://${decodeURIComponent(upload[1]!)}/${name}` : null;
  }
  const object = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
  if (object && (method === "DELETE" || method === "PATCH" || method === "PUT")) {
    return `gs://${decodeURIComponent(object[1]!)}/${decodeURIComponent(object[2]!)}`;
  }
  return null;
}

/** A multipart or resumable upload names its object in the JSON metadata at the start of the body. */
function nameInMetadata(body: Buffer): string | null {
  const head = body.subarray(0, 8192).toString("utf8");
  const match = /"name"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(head);
  if (!match) return null;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return null;
  }
}
