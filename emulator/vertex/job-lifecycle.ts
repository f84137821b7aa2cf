// The lifecycle the stand-in's job services share: live jobs by name; create checks, get, list, cancel, wait, close.
import * as grpc from "@grpc/grpc-js";
import type { VertexJobState } from "../../events/job-state.ts";
import type { Replica } from "./replica-launcher.ts";
import { RpcError, checkLabels, invalid, listJobs, notFound, parseParent, unary } from "./resources.ts";

export const TERMINAL: ReadonlySet<VertexJobState> = new Set([
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED",
  "JOB_STATE_EXPIRED",
]);

/** What every job resource has that the lifecycle reads. */
export interface JobResource {
  name: string;
  displayName: string;
  state: VertexJobState;
  labels: Record<string, string>;
}

/** A job the service holds: its resource, whether it is being cancelled, and the promise of its end. */
export interface LiveJobOf<J extends JobResource> {
  job: J;
  cancelling: boolean;
  /** Resolves when the job reached a terminal state. */
  finished: Promise<void>;
  finish: () => void;
}

export interface ListRequest {
  parent: string;
  filter: string;
  pageSize: number;
  pageToken: string;
}

/** What Vertex checks first in a create request: the parent, the resource itself, its display name, its labels. */
export function checkCreate<T extends { displayName?: string; labels?: Record<string, string> }>(
  kind: string,
  field: string,
  parent: string,
  input: T | null,
): { input: T; displayName: string; labels: Record<string, string> } {
  parseParent(parent);
  if (!input) throw invalid(`${field} is required.`);
  const displayName = input.displayName ?? "";
  if (!displayName) throw invalid(`${kind}.display_name is required.`);
  if (displayName.length > 128) throw invalid(`${kind}.display_name must be at most 128 characters.`);
  const labels = input.labels ?? {};
  checkLabels(labels);
  return { input, displayName, labels };
}

/** SIGTERM, then SIGKILL if the replica is still there after the grace period (Vertex gives Spot VMs 30 s). */
export function stopGracefully(replica: Replica, graceSeconds: number): void {
  replica.kill("SIGTERM");
  const timer = setTimeout(() => replica.kill("SIGKILL"), graceSeconds * 1000);
  timer.unref();
  void replica.exited.then(() => clearTimeout(timer));
}

/** A job service's table of jobs; each service says how its jobs start cancelling and stop at close. */
export abstract class JobLifecycle<J extends JobResource, L extends LiveJobOf<J>> {
  protected readonly jobs = new Map<string, L>();

  /** The resource's kind, as its methods and messages name it: CustomJob, HyperparameterTuningJob. */
  protected abstract readonly kind: string;
  abstract create(parent: string, request: Partial<J> | null): J;
  /** A page of jobs under the response field the kind's List method has (customJobs, hyperparameterTuningJobs). */
  abstract list(req: ListRequest): { nextPageToken: string };
  /** Throws INVALID_ARGUMENT for a name that is not this kind's. */
  protected abstract checkName(name: string): void;
  /** Starts cancelling a job that has not ended; `cancelling` is already set. */
  protected abstract startCancelling(live: L): void;
  /** Whether close() has to stop the job and wait for its end. */
  protected abstract holdsWork(live: L): boolean;
  /** Stops the job's work at close(); `cancelling` is already set. */
  protected abstract shutDown(live: L): void;

  /** The kind's Create, Get, List and Cancel methods (createCustomJob takes its job in `customJob`). */
  handlers(): grpc.UntypedServiceImplementation {
    const field = this.kind[0]!.toLowerCase() + this.kind.slice(1);
    return {
      [`create${this.kind}`]: unary((req: { parent: string } & Record<string, unknown>) =>
        this.create(req.parent, (req[field] ?? null) as Partial<J> | null),
      ),
      [`get${this.kind}`]: unary((req: { name: string }) => structuredClone(this.get(req.name).job)),
      [`list${this.kind}s`]: unary((req: ListRequest) => this.list(req)),
      [`cancel${this.kind}`]: unary((req: { name: string }) => {
        this.cancel(req.name);
        return {};
      }),
    };
  }

  /** Holds a new job, with the promise its end resolves. */
  protected hold(live: Omit<L, "cancelling" | "finished" | "finish">): L {
    let finish = (): void => undefined;
    const finished = new Promise<void>((res) => (finish = res));
    const held = { ...live, cancelling: false, finished, finish } as L;
    this.jobs.set(held.job.name, held);
    return held;
  }

  get(name: string): L {
    this.checkName(name);
    const live = this.jobs.get(name);
    if (!live) throw notFound(`${this.kind} ${name}`);
    return live;
  }

  /** One page of the jobs under the request's parent that pass its filter, newest first. */
  protected page(req: ListRequest): { items: J[]; nextPageToken: string } {
    return listJobs(
      [...this.jobs.values()].map((l) => l.job),
      req,
    );
  }

  cancel(name: string): void {
    const live = this.get(name);
    if (TERMINAL.has(live.job.state))
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Cannot cancel ${this.kind} ${name}: it is already ${live.job.state}.`,
      );
    if (live.cancelling) return;
    live.cancelling = true;
    this.startCancelling(live);
  }

  /** Resolves when the job has reached a terminal state. */
  async waitFor(name: string): Promise<J> {
    const live = this.get(name);
    await live.finished;
    return structuredClone(live.job);
  }

  all(): J[] {
    return [...this.jobs.values()].map((l) => structuredClone(l.job));
  }

  /** Stops every job still at work and waits for their ends. */
  async close(): Promise<void> {
    const running = [...this.jobs.values()].filter((l) => this.holdsWork(l));
    for (const live of running) {
      live.cancelling = true;
      this.shutDown(live);
    }
    await Promise.all(running.map((l) => l.finished));
  }
}
