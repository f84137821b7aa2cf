// The per-run event log: an object per event, so a burst of events writes no object name twice and loses none.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeEvent } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { RunEventReader, appendRunEvent, eventLogUri, readRunEvents } from "../../functions/run-event-log.ts";
import { RateLimitedStore } from "../support/rate-limited-store.ts";
import * as ev from "../support/events.ts";

const store = () =>
  new RateLimitedStore(new LocalObjectStore("test-bucket", mkdtempSync(join(tmpdir(), "sp-evlog-"))));

/** A burst of progress events of one run, a millisecond apart, as a tuning job publishes them. */
function burst(n: number, runId = ev.RUN): PipelineEvent[] {
  const t0 = Date.parse("2026-05-01T10:00:00.000Z");
  return Array.from({ length: n }, (_, i) =>
    makeEvent(
      "job.progress",
      { runId, attempt: 1, time: new Date(t0 + i).toISOString() },
      { step: "tune", unit: "batch", current: i + 1, total: n },
    ),
  );
}

describe("run event log", () => {
  it("logs every one of a burst of 80 events at once, writing no object name twice", async () => {
    const s = store();
    const events = burst(80);
    const results = await Promise.all(events.map((e) => appendRunEvent(s, e)));
    expect(results.every(Boolean)).toBe(true);
    expect(s.refused).toEqual([]);
    expect([...s.writes.values()].every((n) => n === 1)).toBe(true);
    const log = await readRunEvents(s, ev.RUN);
    expect(log.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(log.invalidLines).toBe(0);
  });

  it("logs a redelivered event once, without writing its object again", async () => {
    const s = store();
    const [e] = burst(1);
    expect(await appendRunEvent(s, e!)).toBe(true);
    expect(await appendRunEvent(s, e!)).toBe(false);
    expect(s.refused).toEqual([]);
    expect((await readRunEvents(s, ev.RUN)).events).toHaveLength(1);
  });

  it("reads each event object once while following a run, and sees the new ones", async () => {
    const s = store();
    const events = burst(6);
    for (const e of events.slice(0, 3)) await appendRunEvent(s, e);
    const reader = new RunEventReader(s, ev.RUN);
    expect((await reader.read()).events).toHaveLength(3);
    let reads = 0;
    const read = s.read.bind(s);
    s.read = (uri: string) => {
      if (uri.includes("/events/")) reads += 1;
      return read(uri);
    };
    for (const e of events.slice(3)) await appendRunEvent(s, e);
    expect((await reader.read()).events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(reads).toBe(3);
  });

  it("still reads the embedded runtime's events.jsonl, merged with event objects by time", async () => {
    const s = store();
    const events = burst(4);
    await s.write(
      eventLogUri("test-bucket", ev.RUN),
      `${JSON.stringify(events[0])}\n${JSON.stringify(events[2])}\nnot json\n`,
    );
    await appendRunEvent(s, events[1]!);
    await appendRunEvent(s, events[3]!);
    const log = await readRunEvents(s, ev.RUN);
    expect(log.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(log.invalidLines).toBe(1);
  });
});
