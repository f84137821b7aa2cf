// What the main thread and an inference worker tell each other (structured-cloned; logits are transferred).
import type { EncodedRow } from "../gpu-jobs/inference/index.ts";
import type { PriorityOutcome } from "./thread-priority.ts";

export interface WorkerSetup {
  /** Local model folder (already checked by the main thread). */
  dir: string;
  quantized: boolean;
  /** onnxruntime intra-op threads of this worker's session. */
  threads: number;
  maxBatchRows: number;
  /** Nice value of the worker thread (0: left as it is), so that the main thread wins a contended core. */
  nice: number;
}

export interface WorkerRequest {
  id: number;
  rows: EncodedRow[];
}

export type WorkerReply =
  | { kind: "ready"; priority: PriorityOutcome | null }
  | { kind: "failed"; message: string }
  | { kind: "done"; id: number; logits: Float32Array; runs: number }
  | { kind: "error"; id: number; message: string };
