// Gathers concurrent requests into one batch, then one call runs every row of the batch and each request gets its own
// rows back. A batch goes as soon as no announced request is still on its way (being tokenized), when it is full, or
// when the first waiting request has waited a short window, whichever comes first.

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface MicroBatcherOptions<I, O> {
  /** How long the first request of a batch waits for others, in milliseconds (0: only those already waiting). */
  windowMs: number;
  /** Rows that close a batch at once; a request is never split, so one larger request makes a larger batch. */
  maxRows: number;
  /** Batches that may run at once (one per inference worker); default 1. */
  concurrency?: number;
  /** Runs one batch: one output per input, in order. */
  run(items: readonly I[]): Promise<O[]>;
  timers?: Timers;
}

interface Waiting<I, O> {
  items: readonly I[];
  resolve(out: O[]): void;
  reject(err: unknown): void;
}

/** A request announced before its rows are ready: the batch waits for it (within the window) until it submits. */
export interface Reservation<I, O> {
  submit(items: readonly I[]): Promise<O[]>;
  /** The request will not submit (it failed before): the batch stops waiting for it. */
  cancel(): void;
}

export interface BatcherStats {
  batches: number;
  rows: number;
  requests: number;
}

export class MicroBatcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private queuedRows = 0;
  private timer: unknown = null;
  private running = 0;
  private reserved = 0;
  readonly stats: BatcherStats = { batches: 0, rows: 0, requests: 0 };

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (!(options.windowMs >= 0)) throw new Error(`windowMs must be 0 or more, got ${options.windowMs}`);
    if (!Number.isInteger(options.maxRows) || options.maxRows < 1)
      throw new Error(`maxRows must be a positive integer, got ${options.maxRows}`);
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  private get concurrency(): number {
    return this.options.concurrency ?? 1;
  }

  /**
   * Announces a request whose rows are not ready yet (it is being tokenized), so that a batch about to go waits for
   * it; the request then submits through the reservation, or cancels it.
   */
  reserve(): Reservation<I, O> {
    this.reserved += 1;
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      this.reserved -= 1;
    };
    return {
      submit: (items) => {
        close();
        return this.submit(items);
      },
      cancel: () => {
        close();
        this.schedule();
      },
    };
  }

  /** Queues a request's rows; resolves with their outputs once the batch they joined has run. */
  submit(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) {
      this.schedule();
      return Promise.resolve([]);
    }
    return new Promise<O[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.queuedRows += items.length;
      this.schedule();
    });
  }

  /** Requests waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  private get timers(): Timers {
    return this.options.timers ?? realTimers;
  }

  private schedule(): void {
    if (this.running >= this.concurrency || this.queue.length === 0) return;
    // Nobody else is on the way: waiting would only add latency.
    if (this.queuedRows >= this.options.maxRows || this.reserved === 0) {
      this.flush();
      return;
    }
    this.timer ??= this.timers.set(() => {
      this.timer = null;
      this.flush();
    }, this.options.windowMs);
  }

  private flush(): void {
    if (this.timer !== null) {
      this.timers.clear(this.timer);
      this.timer = null;
    }
    if (this.running >= this.concurrency || this.queue.length === 0) return;
    const batch: Waiting<I, O>[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && rows + next.items.length > this.options.maxRows) break;
      batch.push(this.queue.shift()!);
      rows += next.items.length;
    }
    this.queuedRows -= rows;
    this.running += 1;
    this.stats.batches += 1;
    this.stats.rows += rows;
    this.stats.requests += batch.length;
    void this.runBatch(batch);
    // Another slot may take what did not fit.
    if (this.queue.length > 0) this.schedule();
  }

  private async runBatch(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const items = batch.flatMap((w) => w.items);
      const outputs = await this.options.run(items);
      if (outputs.length !== items.length)
        throw new Error(`a batch of ${items.length} rows gave ${outputs.length} outputs`);
      let at = 0;
      for (const w of batch) {
        w.resolve(outputs.slice(at, at + w.items.length));
        at += w.items.length;
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.running -= 1;
      // Requests that queued while this batch ran go now, unless others are still being tokenized (then at most
      // after the window).
      this.schedule();
    }
  }
}
