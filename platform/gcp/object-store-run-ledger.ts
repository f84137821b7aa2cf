// The run ledger in the bucket: runs/RUN_ID/state.json, replaced only with ifGenerationMatch (Cloud Storage's CAS).
import { RunState } from "../../schemas/run-state.ts";
import { RunId, gcsUri } from "../../schemas/names.ts";
import { PreconditionFailedError, type ObjectStore } from "../ports/object-store.ts";
import type { RunLedger, VersionedState } from "../ports/run-ledger.ts";

export class ObjectStoreRunLedger implements RunLedger {
  constructor(private readonly store: ObjectStore) {}

  private uri(runId: string): string {
    return gcsUri(this.store.bucket, `runs/${RunId.parse(runId)}/state.json`);
  }

  async get(runId: string): Promise<VersionedState | null> {
    const uri = this.uri(runId);
    const stat = await this.store.stat(uri);
    if (!stat) return null;
    // Read, then check the generation did not move meanwhile, so state and generation belong together.
    for (;;) {
      const data = await this.store.read(uri);
      const after = await this.store.stat(uri);
      if (!after) return null;
      const state = RunState.parse(JSON.parse(data.toString("utf8")));
      if (after.generation === stat.generation) return { state, generation: after.generation };
      stat.generation = after.generation;
    }
  }

  create(state: RunState): Promise<boolean> {
    return this.put(state, "0");
  }

  compareAndSwap(state: RunState, expected: string): Promise<boolean> {
    return this.put(state, expected);
  }

  private async put(state: RunState, generation: string): Promise<boolean> {
    try {
      await this.store.write(this.uri(state.runId), JSON.stringify(state), {
        contentType: "application/json",
        ifGenerationMatch: generation,
      });
      return true;
    } catch (err) {
      if (err instanceof PreconditionFailedError) return false;
      throw err;
    }
  }

  async list(limit = 50): Promise<string[]> {
    const uris = await this.store.list(gcsUri(this.store.bucket, "runs/"));
    const ids = uris.map((u) => /\/runs\/([^/]+)\/state\.json$/.exec(u)?.[1]).filter((x): x is string => !!x);
    const runs: { id: string; created: string }[] = [];
    for (const id of ids) {
      const doc = await this.get(id).catch(() => null);
      if (doc) runs.push({ id, created: doc.state.createdAt });
    }
    runs.sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
    return runs.slice(0, limit).map((r) => r.id);
  }
}
