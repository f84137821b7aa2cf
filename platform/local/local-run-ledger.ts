// The run ledger as files: runs/RUN_ID/state.json holds a generation counter; writes lock, check, then rename.
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { RunId } from "../../schemas/names.ts";
import { RunState } from "../../schemas/run-state.ts";
import type { RunLedger, VersionedState } from "../ports/run-ledger.ts";
import { acquireLock } from "./local-object-store.ts";

interface Doc {
  generation: number;
  state: RunState;
}

export class LocalRunLedger implements RunLedger {
  readonly root: string;

  /** `bucketRoot` is the folder laid out like the bucket, so the state lands in the run folder. */
  constructor(bucketRoot: string) {
    this.root = resolve(bucketRoot);
  }

  private file(runId: string): string {
    return join(this.root, "runs", RunId.parse(runId), "state.json");
  }

  private async read(runId: string): Promise<Doc | null> {
    try {
      const doc = JSON.parse(await readFile(this.file(runId), "utf8")) as {
        generation: number;
        state: unknown;
      };
      return { generation: doc.generation, state: RunState.parse(doc.state) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async get(runId: string): Promise<VersionedState | null> {
    const doc = await this.read(runId);
    return doc ? { state: doc.state, generation: String(doc.generation) } : null;
  }

  create(state: RunState): Promise<boolean> {
    return this.swap(state, "0");
  }

  compareAndSwap(state: RunState, expected: string): Promise<boolean> {
    return this.swap(state, expected);
  }

  /** "0" expects no document. The lock serialises writers across processes; the rename makes the write atomic. */
  private async swap(state: RunState, expected: string): Promise<boolean> {
    const file = this.file(state.runId);
    await mkdir(join(file, ".."), { recursive: true });
    const release = await acquireLock(file);
    try {
      const doc = await this.read(state.runId);
      if (String(doc?.generation ?? 0) !== expected) return false;
      const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ generation: (doc?.generation ?? 0) + 1, state }, null, 1)}\n`);
      await rename(tmp, file);
      return true;
    } finally {
      await release();
    }
  }

  async list(limit = 50): Promise<string[]> {
    let ids: string[];
    try {
      ids = (await readdir(join(this.root, "runs"), { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const runs: { id: string; created: string }[] = [];
    for (const id of ids) {
      if (!RunId.safeParse(id).success) continue;
      const doc = await this.read(id).catch(() => null);
      if (doc) runs.push({ id, created: doc.state.createdAt });
    }
    runs.sort((a, b) => b.created.localeCompare(a.created) || a.id.localeCompare(b.id));
    return runs.slice(0, limit).map((r) => r.id);
  }
}
