// An inference worker thread: its own onnxruntime session over the model folder, running the batches the main thread
// sends it one at a time, so that the main thread keeps serving HTTP and tokenizing while the model runs.
import { parentPort, workerData } from "node:worker_threads";
import { loadModel, runEncoded, type LoadedModel } from "../gpu-jobs/inference/index.ts";
import { planByLength } from "./length-batches.ts";
import { niceThisThread } from "./thread-priority.ts";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./worker-messages.ts";

const port = parentPort;
if (!port) throw new Error("inference-worker.ts runs as a worker thread (serving/worker-pool.ts starts it)");
const setup = workerData as WorkerSetup;
// Before the session exists, so that onnxruntime's own threads (more than one intra-op thread) inherit the value.
const priority = setup.nice > 0 ? niceThisThread(setup.nice) : null;

let model: LoadedModel;
try {
  model = await loadModel(setup.dir, {
    quantized: setup.quantized,
    threads: setup.threads,
    provider: "cpu",
    spinWait: false,
  });
} catch (err) {
  const reply: WorkerReply = { kind: "failed", message: (err as Error).message };
  port.postMessage(reply);
  process.exit(1);
}

port.on("message", (request: WorkerRequest) => {
  void run(request);
});
const ready: WorkerReply = { kind: "ready", priority };
port.postMessage(ready);

async function run(request: WorkerRequest): Promise<void> {
  let runs = 0;
  try {
    const logits = await runEncoded(model, request.rows, {
      plan: (lengths) => planByLength(lengths, setup.maxBatchRows),
      onBatch: () => {
        runs += 1;
      },
    });
    const reply: WorkerReply = { kind: "done", id: request.id, logits, runs };
    port!.postMessage(reply, [logits.buffer as ArrayBuffer]);
  } catch (err) {
    const reply: WorkerReply = { kind: "error", id: request.id, message: (err as Error).message };
    port!.postMessage(reply);
  }
}
