// Inference on worker threads: the same logits as on the main thread, a worker that dies fails only its batch and is
// replaced, a folder that cannot be loaded fails the start with the reason, and a closed pool refuses work.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { encodeReviews, loadModel, type EncodedRow } from "../../gpu-jobs/inference/index.ts";
import { InThreadRunner, WorkerPool } from "../../serving/worker-pool.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { golden, TINY_MODEL } from "../inference/model-fixture.ts";
import { placeModel, scratchDir } from "./support.ts";

const root = scratchDir();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const setup = { dir: TINY_MODEL, quantized: true, threads: 1, maxBatchRows: 64, nice: 0 };

async function goldenRows(): Promise<{ rows: EncodedRow[]; reference: Float32Array }> {
  const model = await loadModel(TINY_MODEL, { quantized: true, provider: "cpu", threads: 1 });
  const rows = await encodeReviews(model, golden().examples);
  const reference = (await new InThreadRunner(model, 64).run(rows)).logits;
  await model.release();
  return { rows, reference };
}

const rounded = (a: Float32Array): string[] => Array.from(a, (v) => v.toFixed(5));

/** The pool's worker threads, for tests that make one fail. */
const workersOf = (pool: WorkerPool): Worker[] =>
  (pool as unknown as { slotsList: { worker: Worker }[] }).slotsList.map((s) => s.worker);

describe("WorkerPool", () => {
  it("gives the logits the main thread gives, from each of its workers", async () => {
    const { rows, reference } = await goldenRows();
    const pool = await WorkerPool.start(setup, 2, new CapturingLogger());
    try {
      expect(pool.slots).toBe(2);
      const outs = await Promise.all([pool.run(rows), pool.run(rows), pool.run(rows.slice(0, 2))]);
      expect(rounded(outs[0].logits)).toEqual(rounded(reference));
      expect(rounded(outs[1].logits)).toEqual(rounded(reference));
      expect(rounded(outs[2].logits)).toEqual(rounded(reference.subarray(0, 6)));
      expect(outs[0].runs).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  it("fails the batch of a worker that dies, replaces the worker and keeps serving", async () => {
    const { rows, reference } = await goldenRows();
    const log = new CapturingLogger();
    const pool = await WorkerPool.start(setup, 1, log);
    try {
      // Stop the worker first and hand it the batch while it stops: a batch handed over first could be answered
      // before the stop lands (the tiny model is quick), which would not test anything.
      const stopping = workersOf(pool)[0]!.terminate();
      const inFlight = pool.run(rows);
      await stopping;
      await expect(inFlight).rejects.toThrow("an inference worker stopped");
      expect(log.at("ERROR").map((e) => e.message)).toContain(
        "an inference worker stopped; starting another",
      );
      // The replacement loads the model; the next batch waits for it.
      for (let i = 0; i < 100 && pool.slots === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(pool.slots).toBe(1);
      expect(rounded((await pool.run(rows)).logits)).toEqual(rounded(reference));
    } finally {
      await pool.close();
    }
  });

  it("does not start when a worker cannot load the model, and says why", async () => {
    const broken = placeModel(join(root, "broken"), "r", 1);
    writeFileSync(join(broken, "model.int8.onnx"), "not onnx");
    await expect(WorkerPool.start({ ...setup, dir: broken }, 2, new CapturingLogger())).rejects.toThrow(
      /could not load the model: .*model\.int8\.onnx is not a valid ONNX model/,
    );
  });

  it("refuses batches once closed", async () => {
    const { rows } = await goldenRows();
    const pool = await WorkerPool.start(setup, 1, new CapturingLogger());
    await pool.close();
    await expect(pool.run(rows)).rejects.toThrow("stopping");
  });
});

/** Nice value of each thread of this process, from /proc/self/task/TID/stat (field 19; the name may hold spaces). */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), Number(fields[16])); // field 19 of stat, the 17th after the name
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

describe.runIf(process.platform === "linux")("WorkerPool thread priority", () => {
  it("runs its inference threads at the configured nice value and leaves the main thread's alone", async () => {
    const before = threadNices();
    const pool = await WorkerPool.start({ ...setup, nice: 7 }, 2, new CapturingLogger());
    try {
      const after = threadNices();
      const niced = [...after].filter(([tid, nice]) => !before.has(tid) && nice === 7);
      expect(niced.length).toBeGreaterThanOrEqual(2);
      expect(after.get(process.pid)).toBe(before.get(process.pid));
      const { rows, reference } = await goldenRows();
      expect(rounded((await pool.run(rows)).logits)).toEqual(rounded(reference));
    } finally {
      await pool.close();
    }
  });

  it("leaves the threads alone with nice 0", async () => {
    const before = threadNices();
    const pool = await WorkerPool.start({ ...setup, nice: 0 }, 1, new CapturingLogger());
    try {
      const fresh = [...threadNices()].filter(([tid]) => !before.has(tid));
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.every(([, nice]) => nice === 0)).toBe(true);
    } finally {
      await pool.close();
    }
  });
});
