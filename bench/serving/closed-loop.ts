// A closed-loop HTTP load generator: N clients, each sending its next request as soon as it has the last answer,
// over a keep-alive agent that also follows servers which close every connection (Flask's development server
// answers `Connection: close`, which autocannon 8 does not follow). Latencies are kept whole: exact percentiles.
import { Agent, request } from "node:http";

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  connections: number;
  seconds: number;
  /** The i-th request of the run (shared across clients, in order of sending). */
  next(i: number): { method: string; path: string; body?: string };
}

export interface LoadResult {
  connections: number;
  /** Every answer's latency in milliseconds, in order of arrival. */
  latencies: number[];
  requests: number;
  seconds: number;
  /** Answers per second, any status. */
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  byStatus: Record<string, number>;
  /** Requests that got no answer (connection refused or reset, timeout). */
  errors: number;
}

const TIMEOUT_MS = 60_000;

export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  const began = performance.now();
  const end = began + options.seconds * 1000;

  const one = (): Promise<void> => {
    const { method, path, body } = options.next(sent++);
    const started = performance.now();
    return new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method,
          path,
          timeout: TIMEOUT_MS,
          headers: {
            "content-type": "application/json",
            ...(body !== undefined ? { "content-length": Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          res.on("data", () => undefined);
          res.on("end", () => {
            latencies.push(performance.now() - started);
            const code = String(res.statusCode);
            byStatus[code] = (byStatus[code] ?? 0) + 1;
            resolve();
          });
          res.on("error", () => {
            errors += 1;
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  };

  const client = async (): Promise<void> => {
    while (performance.now() < end) await one();
  };
  await Promise.all(Array.from({ length: options.connections }, client));
  agent.destroy();
  return summarize(options.connections, [
    { latencies, byStatus, errors, seconds: (performance.now() - began) / 1000 },
  ]);
}

/** One result from several runs at the same concurrency: rates over their total time, percentiles over all answers. */
export function summarize(
  connections: number,
  runs: { latencies: number[]; byStatus: Record<string, number>; errors: number; seconds: number }[],
): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const seconds = runs.reduce((t, r) => t + r.seconds, 0);
  const byStatus: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v;
  const sorted = Float64Array.from(latencies).sort();
  const pct = (p: number): number =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    connections,
    latencies,
    requests: latencies.length,
    seconds,
    throughput: latencies.length / seconds,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    byStatus,
    errors: runs.reduce((n, r) => n + r.errors, 0),
  };
}
