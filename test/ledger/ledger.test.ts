// Run ledgers: compare-and-swap semantics, and many concurrent updates of one run losing none.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { ObjectStoreRunLedger } from "../../platform/gcp/object-store-run-ledger.ts";
import { updateState } from "../../functions/run-processor.ts";
import { initialState } from "../../functions/core/run-state.ts";
import type { RunLedger } from "../../platform/ports/run-ledger.ts";
import * as ev from "../support/events.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "sp-ledger-"));

const ledgers: [string, () => RunLedger][] = [
  ["in memory", () => new MemoryRunLedger()],
  ["local folder", () => new LocalRunLedger(tmp())],
  [
    "object store (ifGenerationMatch)",
    () => new ObjectStoreRunLedger(new LocalObjectStore("test-bucket", tmp())),
  ],
];

describe.each(ledgers)("run ledger %s", (_name, make) => {
  it("creates a run once", async () => {
    const ledger = make();
    const state = initialState(ev.runStarted());
    expect(await ledger.create(state)).toBe(true);
    expect(await ledger.create(state)).toBe(false);
    expect((await ledger.get(ev.RUN))!.state).toEqual(state);
  });

  it("refuses a swap against a stale generation", async () => {
    const ledger = make();
    await ledger.create(initialState(ev.runStarted()));
    const v1 = (await ledger.get(ev.RUN))!;
    expect(await ledger.compareAndSwap({ ...v1.state, currentStep: "prepare" }, v1.generation)).toBe(true);
    expect(await ledger.compareAndSwap({ ...v1.state, currentStep: "tune" }, v1.generation)).toBe(false);
    expect((await ledger.get(ev.RUN))!.state.currentStep).toBe("prepare");
  });

  it("returns null for an unknown run and lists runs newest first", async () => {
    const ledger = make();
    expect(await ledger.get("nothing-here")).toBeNull();
    await ledger.create(initialState(ev.runStarted("older-run")));
    await ledger.create(initialState(ev.runStarted("newer-run")));
    expect(await ledger.list()).toEqual(["newer-run", "older-run"]);
  });

  it("loses none of 40 concurrent updates of one run", async () => {
    const ledger = make();
    await ledger.create(initialState(ev.runStarted()));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        updateState(ledger, ev.RUN, (s) => ({ ...s, seenEventIds: [...s.seenEventIds, `e${i}`] })),
      ),
    );
    const ids = (await ledger.get(ev.RUN))!.state.seenEventIds;
    expect(ids).toHaveLength(40);
    expect(new Set(ids).size).toBe(40);
  });
});

describe("local folder ledger across processes", () => {
  it("loses none of the updates four processes make at once", async () => {
    const root = tmp();
    const ledger = new LocalRunLedger(root);
    await ledger.create(initialState(ev.runStarted()));
    const script = `
      import { LocalRunLedger } from ${JSON.stringify(join(import.meta.dirname, "../../platform/local/local-run-ledger.ts"))};
      import { updateState } from ${JSON.stringify(join(import.meta.dirname, "../../functions/run-processor.ts"))};
      const ledger = new LocalRunLedger(process.argv[1]);
      await Promise.all(Array.from({ length: 10 }, (_, i) =>
        updateState(ledger, ${JSON.stringify(ev.RUN)}, (s) => ({ ...s, seenEventIds: [...s.seenEventIds, process.pid + ":" + i] }))));
    `;
    const run = () =>
      new Promise<number>((res) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "--input-type=module", "-e", script, root],
          { stdio: "inherit" },
        );
        child.on("close", (code) => res(code ?? 1));
      });
    expect(await Promise.all([run(), run(), run(), run()])).toEqual([0, 0, 0, 0]);
    expect(new Set((await ledger.get(ev.RUN))!.state.seenEventIds).size).toBe(40);
  });
});
