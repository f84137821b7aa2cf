// Where a gathered batch runs: on one of a few worker threads, each with its own onnxruntime session (the default), or
// on the main thread. onnxruntime-node runs a session on the thread that calls it, so on the main thread a run stops
// HTTP and tokenizing; workers let those go on, and let batches run side by side on the cores.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { runEncoded, type EncodedRow, type LoadedModel } from "../gpu-jobs/inference/index.ts";
import type { Logger } from "../platform/ports/logger.ts";
import { planByLength } from "./length-batches.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./worker-messages.ts";

export interface BatchOutput {
  /** Logits of every row, row-major [rows x classes], in the order given. */
  logits: Float32Array;
  /** ONNX runs the batch took. */
  runs: number;
}

export interface BatchRunner {
  /** Batches that can run at once. */
  readonly slots: number;
  run(rows: EncodedRow[]): Promise<BatchOutput>;
  close(): Promise<void>;
}

/** Runs batches on the main thread with the model's own session: one at a time. */
export class InThreadRunner implements BatchRunner {
  readonly slots = 1;

  constructor(
    private readonly model: LoadedModel,
    private readonly maxBatchRows: number,
  ) {}

  async run(rows: EncodedRow[]): Promise<BatchOutput> {
    let runs = 0;
    const logits = await runEncoded(this.model, rows, {
      plan: (lengths) => planByLength(lengths, this.maxBatchRows),
      onBatch: () => {
        runs += 1;
      },
    });
    return { logits, runs };
  }

  close(): Promise<void> {
    return this.model.release();
  }
}

interface Pending {
  resolve: (out: BatchOutput) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: (Pending & { id: number }) | null;
}

/** A fixed number of inference workers; a worker that dies fails its batch and is replaced. */
export class WorkerPool implements BatchRunner {
  private readonly slotsList: Slot[] = [];
  private readonly waiting: (Pending & { rows: EncodedRow[] })[] = [];
  private nextId = 0;
  private closing = false;

  private constructor(
    private readonly setup: WorkerSetup,
    private readonly log: Logger,
  ) {}

  get slots(): number {
    return this.slotsList.length;
  }

  /** Starts `workers` workers and resolves once every one has loaded the model. */
  static async start(setup: WorkerSetup, workers: number, log: Logger): Promise<WorkerPool> {
    if (!Number.isInteger(workers) || workers < 1)
      throw new Error(`workers must be a positive integer, got ${workers}`);
    const pool = new WorkerPool(setup, log);
    try {
      const started = await Promise.all(Array.from({ length: workers }, () => startWorker(setup, log)));
      for (const worker of started) pool.adopt(worker);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  run(rows: EncodedRow[]): Promise<BatchOutput> {
    if (this.closing) return Promise.reject(new Error("the inference workers are stopping"));
    if (this.slotsList.length === 0) return Promise.reject(new Error("no inference worker is running"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ rows, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error("the inference workers are stopping"));
    await Promise.all(this.slotsList.map((s) => s.worker.terminate()));
  }

  private adopt(worker: Worker): void {
    const slot: Slot = { worker, busy: null };
    this.slotsList.push(slot);
    worker.on("message", (reply: WorkerReply) => {
      const busy = slot.busy;
      if (!busy || (reply.kind !== "done" && reply.kind !== "error") || reply.id !== busy.id) return;
      slot.busy = null;
      if (reply.kind === "done") busy.resolve({ logits: reply.logits, runs: reply.runs });
      else busy.reject(new Error(reply.message));
      this.dispatch();
    });
    worker.once("exit", (code) => {
      slot.busy?.reject(new Error(`an inference worker stopped (exit code ${code})`));
      slot.busy = null;
      this.slotsList.splice(this.slotsList.indexOf(slot), 1);
      if (this.closing) return;
      this.log.error("an inference worker stopped; starting another", { exitCode: code });
      startWorker(this.setup, this.log).then(
        (replacement) => {
          if (this.closing) void replacement.terminate();
          else {
            this.adopt(replacement);
            this.dispatch();
          }
        },
        (err: unknown) => {
          this.log.error("an inference worker could not be replaced", { error: err });
          if (this.slotsList.length === 0)
            for (const w of this.waiting.splice(0)) w.reject(new Error("no inference worker is running"));
        },
      );
    });
    worker.on("error", (err) => this.log.error("inference worker error", { error: err }));
  }

  private dispatch(): void {
    for (const slot of this.slotsList) {
      if (slot.busy) continue;
      const next = this.waiting.shift();
      if (!next) return;
      const id = ++this.nextId;
      slot.busy = { id, resolve: next.resolve, reject: next.reject };
      const request: WorkerRequest = { id, rows: next.rows };
      slot.worker.postMessage(request);
    }
  }
}

/** Starts one worker and waits until its session is ready (or it says why not). */
function startWorker(setup: WorkerSetup, log: Logger): Promise<Worker> {
  const worker = spawn(setup);
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply): void => {
      if (reply.kind === "ready") {
        cleanup();
        if (reply.priority && !reply.priority.ok)
          log.warn("an inference worker runs at the main thread's priority: health checks may wait for it", {
            reason: reply.priority.reason,
          });
        resolve(worker);
      } else if (reply.kind === "failed") {
        cleanup();
        reject(new Error(`an inference worker could not load the model: ${reply.message}`));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`an inference worker exited while loading the model (exit code ${code})`));
    };
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.once("error", onError);
    worker.once("exit", onExit);
  });
}

/**
 * The compiled server (dist/, the image) starts inference-worker.js. Run from TypeScript sources (tsx, vitest), a
 * worker thread does not inherit the main thread's loader, so it registers tsx itself before importing the entry.
 */
function spawn(setup: WorkerSetup): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./inference-worker.js", here), { workerData: setup });
  const entry = new URL("./inference-worker.ts", here).href;
  const boot = `import(${JSON.stringify(tsxEsmApi(here))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}

/** The URL of tsx's ESM register API, from its package's exports map (a worker's eval code has no node_modules base). */
function tsxEsmApi(from: string): string {
  const packageJson = createRequire(from).resolve("tsx/package.json");
  const pkg = JSON.parse(readFileSync(packageJson, "utf8")) as {
    exports?: Record<string, { import?: { default?: string } }>;
  };
  const target = pkg.exports?.["./esm/api"]?.import?.default;
  if (!target) throw new Error(`${packageJson} exports no ./esm/api for import`);
  return pathToFileURL(join(dirname(packageJson), target)).href;
}
