// The run ledger port: the run state document, changed only by compare-and-swap on its generation.
import type { RunState } from "../../schemas/run-state.ts";

export interface VersionedState {
  state: RunState;
  generation: string;
}

export interface RunLedger {
  get(runId: string): Promise<VersionedState | null>;
  /** Creates the document; resolves false (and changes nothing) when it already exists. */
  create(state: RunState): Promise<boolean>;
  /** Replaces the document if its generation is still `expected`; resolves false on a conflict. */
  compareAndSwap(state: RunState, expected: string): Promise<boolean>;
  /** Run ids, newest first. */
  list(limit?: number): Promise<string[]>;
}
