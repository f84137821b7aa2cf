// The run ledger in memory: for tests and the property test of the decision core.
import type { RunState } from "../../schemas/run-state.ts";
import type { RunLedger, VersionedState } from "../ports/run-ledger.ts";

export class MemoryRunLedger implements RunLedger {
  private readonly docs = new Map<string, { json: string; generation: number }>();

  get(runId: string): Promise<VersionedState | null> {
    const doc = this.docs.get(runId);
    return Promise.resolve(
      doc ? { state: JSON.parse(doc.json) as RunState, generation: String(doc.generation) } : null,
    );
  }

  create(state: RunState): Promise<boolean> {
    if (this.docs.has(state.runId)) return Promise.resolve(false);
    this.docs.set(state.runId, { json: JSON.stringify(state), generation: 1 });
    return Promise.resolve(true);
  }

  compareAndSwap(state: RunState, expected: string): Promise<boolean> {
    const doc = this.docs.get(state.runId);
    if (!doc || String(doc.generation) !== expected) return Promise.resolve(false);
    this.docs.set(state.runId, { json: JSON.stringify(state), generation: doc.generation + 1 });
    return Promise.resolve(true);
  }

  list(limit = 50): Promise<string[]> {
    const runs = [...this.docs.entries()].map(([id, d]) => ({
      id,
      created: (JSON.parse(d.json) as RunState).createdAt,
    }));
    runs.sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
    return Promise.resolve(runs.slice(0, limit).map((r) => r.id));
  }
}
