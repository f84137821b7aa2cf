// The Vertex AI stand-in: a gRPC server with the job, model and operations services, plus a loopback admin API for faults.
import * as grpc from "@grpc/grpc-js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JobStateLogEntry } from "../../events/job-state.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { JobService, idOf } from "./job-service.ts";
import { ModelService } from "./model-service.ts";
import { TuningService } from "./tuning-service.ts";
import { loadVertexProtos } from "./protos.ts";
import type { ReplicaLauncher } from "./replica-launcher.ts";
import { RpcError } from "./resources.ts";

export interface VertexStandInOptions {
  launcher: ReplicaLauncher;
  log: Logger;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Port of the admin API (fault injection, inspection); null: none. */
  adminPort?: number | null;
  onEntry?: (entry: JobStateLogEntry) => Promise<void>;
  graceSeconds?: number;
  maxRestarts?: number;
  provisionDelayMs?: number;
  /** How often the tuning service reads running trials' hypertune files (tests read them often). */
  measurementPollMs?: number;
}

export class VertexStandIn {
  private constructor(
    readonly jobs: JobService,
    readonly tuning: TuningService,
    readonly models: ModelService,
    private readonly server: grpc.Server,
    private readonly admin: Server | null,
    readonly host: string,
    readonly port: number,
    readonly adminPort: number | null,
  ) {}

  /** host:port for `VERTEX_ENDPOINT`. */
  get endpoint(): string {
    return `${this.host}:${this.port}`;
  }

  static async start(options: VertexStandInOptions): Promise<VertexStandIn> {
    const protos = loadVertexProtos();
    const jobs = new JobService({
      launcher: options.launcher,
      log: options.log,
      ...(options.onEntry ? { onEntry: options.onEntry } : {}),
      ...(options.graceSeconds !== undefined ? { graceSeconds: options.graceSeconds } : {}),
      ...(options.maxRestarts !== undefined ? { maxRestarts: options.maxRestarts } : {}),
      ...(options.provisionDelayMs !== undefined ? { provisionDelayMs: options.provisionDelayMs } : {}),
    });
    const tuning = new TuningService({
      launcher: options.launcher,
      log: options.log,
      ...(options.provisionDelayMs !== undefined ? { provisionDelayMs: options.provisionDelayMs } : {}),
      ...(options.graceSeconds !== undefined ? { graceSeconds: options.graceSeconds } : {}),
      ...(options.measurementPollMs !== undefined ? { measurementPollMs: options.measurementPollMs } : {}),
    });
    const models = new ModelService(protos);
    const server = new grpc.Server();
    server.addService(
      protos.jobService,
      withUnimplemented(protos.jobService, { ...jobs.handlers(), ...tuning.handlers() }),
    );
    server.addService(protos.modelService, withUnimplemented(protos.modelService, models.handlers()));
    server.addService(protos.operations, withUnimplemented(protos.operations, models.operationHandlers()));
    const host = options.host ?? "127.0.0.1";
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    let admin: Server | null = null;
    let adminPort: number | null = null;
    if (options.adminPort !== null && options.adminPort !== undefined) {
      admin = createServer((req, res) => void handleAdmin(jobs, req, res));
      await new Promise<void>((resolve, reject) => {
        admin!.once("error", reject);
        admin!.listen(options.adminPort ?? 0, host, () => resolve());
      });
      adminPort = (admin.address() as AddressInfo).port;
    }
    return new VertexStandIn(jobs, tuning, models, server, admin, host, port, adminPort);
  }

  /** Stops the replicas still running, then the servers. */
  async close(): Promise<void> {
    await Promise.all([this.jobs.close(), this.tuning.close()]);
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    if (this.admin) await new Promise<void>((resolve) => this.admin!.close(() => resolve()));
  }
}

/** Methods the stand-in does not serve answer UNIMPLEMENTED with their name, instead of hanging the client. */
function withUnimplemented(
  service: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = { ...impl };
  for (const [method, def] of Object.entries(service)) {
    const { path, originalName } = def as { path: string; originalName?: string };
    if (out[method] || (originalName && out[originalName])) continue;
    out[method] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(
        { code: grpc.status.UNIMPLEMENTED, details: `The Vertex AI stand-in does not implement ${path}.` },
        null,
      )) as grpc.UntypedHandleCall;
  }
  return out;
}

/**
 * Admin API, loopback only: GET /healthz, GET /jobs (every job with its create-call count), and
 * POST /jobs/ID:preempt, /jobs/ID:kill[?signal=SIGTERM], /jobs/ID:wait. ID is the job id or its display name.
 */
async function handleAdmin(jobs: JobService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://admin");
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  try {
    if (req.method === "GET" && url.pathname === "/healthz") return send(200, { ok: true });
    if (req.method === "GET" && url.pathname === "/jobs") {
      return send(200, {
        jobs: jobs.all().map((j) => ({
          id: idOf(j),
          name: j.name,
          displayName: j.displayName,
          state: j.state,
          labels: j.labels,
          error: j.error?.message ?? null,
        })),
        createCalls: Object.fromEntries(jobs.createCalls),
      });
    }
    const m = /^\/jobs\/([^/:]+):(preempt|kill|wait)$/.exec(url.pathname);
    if (req.method === "POST" && m) {
      const key = decodeURIComponent(m[1]!);
      const job = jobs.all().find((j) => idOf(j) === key || j.displayName === key);
      if (!job) return send(404, { error: `no job ${key}` });
      if (m[2] === "preempt") jobs.preempt(job.name);
      else if (m[2] === "kill")
        jobs.kill(job.name, (url.searchParams.get("signal") ?? "SIGKILL") as NodeJS.Signals);
      else return send(200, await jobs.waitFor(job.name));
      return send(202, { ok: true, id: idOf(job) });
    }
    send(404, { error: `no route ${req.method} ${url.pathname}` });
  } catch (err) {
    send(err instanceof RpcError ? 409 : 500, { error: (err as Error).message });
  }
}
