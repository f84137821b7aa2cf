// The micro-batcher on a controlled clock: announced requests share one run, a lone request goes at once, the window
// bounds the wait, full batches go at once, a request is never split, failures reach exactly their batch.
import { describe, expect, it } from "vitest";
import { MicroBatcher, type Timers } from "../../serving/micro-batcher.ts";

class ManualTimers implements Timers {
  private pending = new Map<number, () => void>();
  private next = 0;
  delays: number[] = [];
  set(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.pending.set(id, fn);
    this.delays.push(ms);
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get armed(): number {
    return this.pending.size;
  }
  fire(): void {
    const fns = [...this.pending.values()];
    this.pending.clear();
    for (const fn of fns) fn();
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function doubler(timers: ManualTimers, maxRows = 8) {
  const runs: number[][] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const batcher = new MicroBatcher<number, number>({
    windowMs: 3,
    maxRows,
    timers,
    run: async (items) => {
      runs.push([...items]);
      if (hold) await new Promise<void>((r) => (release = r));
      return items.map((x) => x * 2);
    },
  });
  return {
    batcher,
    runs,
    holdNext: () => (hold = true),
    releaseRun: () => {
      hold = false;
      release?.();
    },
  };
}

describe("MicroBatcher", () => {
  it("runs a lone request at once, without waiting for the window", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers);
    expect(await batcher.submit([1, 2])).toEqual([2, 4]);
    expect(runs).toEqual([[1, 2]]);
    expect(timers.delays).toEqual([]);
  });

  it("waits for announced requests and runs them together once the last one submits", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers);
    const tickets = [batcher.reserve(), batcher.reserve(), batcher.reserve()];
    const a = tickets[0]!.submit([1, 2]);
    const b = tickets[1]!.submit([3]);
    await tick();
    expect(runs).toEqual([]);
    expect(timers.delays).toEqual([3]);
    const c = tickets[2]!.submit([4, 5, 6]);
    expect(await Promise.all([a, b, c])).toEqual([[2, 4], [6], [8, 10, 12]]);
    expect(runs).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(timers.armed).toBe(0);
    expect(batcher.stats).toEqual({ batches: 1, rows: 6, requests: 3 });
  });

  it("does not wait past the window for an announced request that is slow to come", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers);
    const slow = batcher.reserve();
    const a = batcher.reserve().submit([1]);
    await tick();
    expect(runs).toEqual([]);
    timers.fire();
    expect(await a).toEqual([2]);
    expect(await slow.submit([7])).toEqual([14]);
    expect(runs).toEqual([[1], [7]]);
  });

  it("stops waiting for an announced request that cancels", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers);
    const failed = batcher.reserve();
    const a = batcher.reserve().submit([1]);
    await tick();
    expect(runs).toEqual([]);
    failed.cancel();
    failed.cancel();
    expect(await a).toEqual([2]);
    expect(timers.armed).toBe(0);
    expect(await batcher.submit([3])).toEqual([6]);
  });

  it("closes a batch at once when it is full, though others are announced", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers, 4);
    const waiting = batcher.reserve();
    const a = batcher.reserve().submit([1, 2]);
    const b = batcher.reserve().submit([3, 4]);
    expect(await Promise.all([a, b])).toEqual([
      [2, 4],
      [6, 8],
    ]);
    expect(runs).toEqual([[1, 2, 3, 4]]);
    waiting.cancel();
  });

  it("never splits a request: one that does not fit goes in the next batch", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers, 4);
    const [ta, tb] = [batcher.reserve(), batcher.reserve()];
    const a = ta.submit([1, 2, 3]);
    const b = tb.submit([4, 5]);
    expect(await a).toEqual([2, 4, 6]);
    expect(await b).toEqual([8, 10]);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("runs a request larger than a batch on its own", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers, 2);
    expect(await batcher.submit([1, 2, 3, 4, 5])).toEqual([2, 4, 6, 8, 10]);
    expect(runs).toEqual([[1, 2, 3, 4, 5]]);
  });

  it("queues requests that arrive during a run and runs them together afterwards", async () => {
    const timers = new ManualTimers();
    const { batcher, runs, holdNext, releaseRun } = doubler(timers);
    holdNext();
    const first = batcher.submit([1]);
    await tick();
    const later = [batcher.submit([2]), batcher.submit([3])];
    await tick();
    expect(runs).toEqual([[1]]);
    releaseRun();
    expect(await first).toEqual([2]);
    expect(await Promise.all(later)).toEqual([[4], [6]]);
    expect(runs).toEqual([[1], [2, 3]]);
  });

  it("rejects every request of a failed batch, and only those", async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>({
      windowMs: 1,
      maxRows: 8,
      timers: new ManualTimers(),
      run: (items) =>
        fail ? Promise.reject(new Error("session broke")) : Promise.resolve(items.map((x) => -x)),
    });
    const [ta, tb] = [batcher.reserve(), batcher.reserve()];
    const a = ta.submit([1]);
    const b = tb.submit([2]);
    await expect(a).rejects.toThrow("session broke");
    await expect(b).rejects.toThrow("session broke");
    fail = false;
    expect(await batcher.submit([3])).toEqual([-3]);
  });

  it("refuses a run that returns the wrong number of outputs", async () => {
    const batcher = new MicroBatcher<number, number>({
      windowMs: 0,
      maxRows: 4,
      run: () => Promise.resolve([1]),
    });
    await expect(batcher.submit([1, 2])).rejects.toThrow("a batch of 2 rows gave 1 outputs");
  });

  it("answers an empty request without running anything", async () => {
    const timers = new ManualTimers();
    const { batcher, runs } = doubler(timers);
    expect(await batcher.submit([])).toEqual([]);
    expect(runs).toEqual([]);
    expect(timers.armed).toBe(0);
  });
});
