// Over fake-gcs-server behind the stack's same-object write limit: 429s as Cloud Storage sends them, the ledger's CAS, the event log.
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEvent } from "../../events/codec.ts";
import { GcsObjectStore } from "../../platform/gcp/gcs-object-store.ts";
import { ObjectStoreRunLedger } from "../../platform/gcp/object-store-run-ledger.ts";
import { initialState } from "../../functions/core/run-state.ts";
import { appendRunEvent, eventLogDirUri, readRunEvents } from "../../functions/run-event-log.ts";
import { updateState } from "../../functions/run-processor.ts";
import type { StackHandle } from "../../emulator/stack/client.ts";
import * as ev from "../support/events.ts";
import { emulatorsMissing, startEmulators, uniqueName } from "./emulators.ts";

const missing = emulatorsMissing();
let stack: StackHandle;
let store: GcsObjectStore;

describe.skipIf(missing !== null)("Cloud Storage limits and compare-and-swap over fake-gcs-server", () => {
  beforeAll(async () => {
    stack = await startEmulators({ name: "gcs-limits" });
    store = new GcsObjectStore({
      bucket: "local-bucket",
      projectId: "local-project",
      apiEndpoint: stack.info.endpoints.storage,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  const runId = () => uniqueName("run").replace(/[^a-z0-9-]/g, "");

  it("refuses a second write of one object name within a second with 429, as Cloud Storage does", async () => {
    // The official client with its own retries off, to see the answer itself.
    const raw = new Storage({
      apiEndpoint: stack.info.endpoints.storage,
      projectId: "local-project",
      useAuthWithCustomEndpoint: false,
      retryOptions: { autoRetry: false },
    });
    const file = raw.bucket("local-bucket").file(`${uniqueName("limit")}/same.json`);
    await file.save("1", { resumable: false });
    await expect(file.save("2", { resumable: false })).rejects.toMatchObject({ code: 429 });
    // Another name is not limited.
    await raw
      .bucket("local-bucket")
      .file(`${uniqueName("limit")}/other.json`)
      .save("3", { resumable: false });
  });

  it("backs off on 429 and lands the second write of the same name", async () => {
    const uri = `gs://local-bucket/${uniqueName("backoff")}/state.json`;
    const first = await store.write(uri, "one");
    const second = await store.write(uri, "two");
    expect(second.generation).not.toBe(first.generation);
    expect((await store.read(uri)).toString()).toBe("two");
  }, 60_000);

  it("swaps the run state only at fake-gcs-server's current generation", async () => {
    const ledger = new ObjectStoreRunLedger(store);
    const id = runId();
    const state = initialState(ev.runStarted(id));
    expect(await ledger.create(state)).toBe(true);
    expect(await ledger.create(state)).toBe(false);
    const v1 = (await ledger.get(id))!;
    expect(v1.generation).toMatch(/^\d+$/);
    expect(await ledger.compareAndSwap({ ...v1.state, currentStep: "prepare" }, v1.generation)).toBe(true);
    expect(await ledger.compareAndSwap({ ...v1.state, currentStep: "tune" }, v1.generation)).toBe(false);
    expect((await ledger.get(id))!.state.currentStep).toBe("prepare");
  }, 60_000);

  it("loses none of 5 concurrent updates of one run, each write a second apart", async () => {
    const ledger = new ObjectStoreRunLedger(store);
    const id = runId();
    await ledger.create(initialState(ev.runStarted(id)));
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        updateState(ledger, id, (s) => ({ ...s, seenEventIds: [...s.seenEventIds, `e${i}`] })),
      ),
    );
    expect(new Set((await ledger.get(id))!.state.seenEventIds).size).toBe(5);
  }, 120_000);

  it("logs every event of a burst of 60, one object each, and a redelivery writes nothing", async () => {
    const id = runId();
    const t0 = Date.now();
    const events = Array.from({ length: 60 }, (_, i) =>
      makeEvent(
        "job.progress",
        { runId: id, attempt: 1, time: new Date(t0 + i).toISOString() },
        { step: "train", unit: "batch", current: i + 1, total: 60 },
      ),
    );
    expect((await Promise.all(events.map((e) => appendRunEvent(store, e)))).every(Boolean)).toBe(true);
    expect(await appendRunEvent(store, events[7]!)).toBe(false);
    expect(await store.list(eventLogDirUri("local-bucket", id))).toHaveLength(60);
    expect((await readRunEvents(store, id)).events.map((e) => e.id)).toEqual(events.map((e) => e.id));
  }, 60_000);
});
