// The per-run event log: every event of a run as its own object under runs/RUN_ID/events/, so another process can replay and follow it.
import { PipelineEvent } from "../events/catalogue.ts";
import { runDir } from "../schemas/names.ts";
import { PreconditionFailedError, type ObjectStore } from "../platform/ports/object-store.ts";

/**
 * One object per event, never rewritten: Cloud Storage takes about one write a second to one object name, and a
 * burst of progress events would get 429s if they all rewrote one log. The names sort by event time, then id, so a
 * prefix listing is the log in order. The embedded runtime appends to runs/RUN_ID/events.jsonl instead (a local
 * file has no such limit, and one O_APPEND per event is much cheaper); readers merge both.
 */
export const EVENT_LOG_DIR = "events";
/** The embedded runtime's log (and the layout of runs logged before the per-event objects). */
export const EVENT_LOG_NAME = "events.jsonl";

export function eventLogUri(bucket: string, runId: string): string {
  return `${runDir(bucket, runId)}/${EVENT_LOG_NAME}`;
}

export function eventLogDirUri(bucket: string, runId: string): string {
  return `${runDir(bucket, runId)}/${EVENT_LOG_DIR}/`;
}

/** The object of one event: `events/<time, digits only>-<id>.json`, so names sort by time and never collide. */
export function eventObjectUri(bucket: string, event: PipelineEvent): string {
  const time = new Date(event.time).toISOString().replace(/\D/g, "");
  return `${eventLogDirUri(bucket, event.runId)}${time}-${encodeURIComponent(event.id)}.json`;
}

export interface ParsedEventLog {
  events: PipelineEvent[];
  /** Lines or objects that are not a valid event (a torn write, a newer schema): counted, never fatal to a reader. */
  invalidLines: number;
}

/** Parses JSON lines; unknown or broken lines are counted and skipped. */
export function parseEventLog(text: string): ParsedEventLog {
  const events: PipelineEvent[] = [];
  let invalidLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const event = parseEvent(line);
    if (event) events.push(event);
    else invalidLines += 1;
  }
  return { events, invalidLines };
}

function parseEvent(text: string): PipelineEvent | null {
  try {
    const parsed = PipelineEvent.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Reads one run's log again and again (`sentiment-pipeline watch` polls): each event object is read once, later
 * reads only list the prefix and fetch the new names.
 */
export class RunEventReader {
  private readonly byUri = new Map<string, PipelineEvent | null>();

  constructor(
    private readonly store: ObjectStore,
    private readonly runId: string,
    /** Objects read at once. */
    private readonly concurrency = 16,
  ) {}

  async read(): Promise<ParsedEventLog> {
    const { store, runId } = this;
    const [uris, appended] = await Promise.all([
      store.list(eventLogDirUri(store.bucket, runId)),
      readAppendedLog(store, runId),
    ]);
    const fresh = uris.filter((u) => !this.byUri.has(u) && u.endsWith(".json"));
    for (let i = 0; i < fresh.length; i += this.concurrency) {
      const batch = fresh.slice(i, i + this.concurrency);
      const texts = await Promise.all(batch.map((u) => readIfPresent(store, u)));
      batch.forEach((u, k) => {
        const text = texts[k];
        // A listed object that is gone again is skipped, not remembered: it may be written later.
        if (text !== null && text !== undefined) this.byUri.set(u, parseEvent(text));
      });
    }
    const objects = uris.filter((u) => this.byUri.has(u)).map((u) => this.byUri.get(u) ?? null);
    const seen = new Set<string>();
    const events: PipelineEvent[] = [];
    const invalidLines = appended.invalidLines + objects.filter((e) => e === null).length;
    for (const e of [...appended.events, ...objects.filter((x): x is PipelineEvent => x !== null)]) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      events.push(e);
    }
    if (appended.events.length > 0 && objects.length > 0) {
      // Both layouts (a run logged before and after an upgrade): one order, by time, stable within equal times.
      events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    }
    return { events, invalidLines };
  }
}

/** The run's events in log order; an empty list when the run has no log yet. */
export function readRunEvents(store: ObjectStore, runId: string): Promise<ParsedEventLog> {
  return new RunEventReader(store, runId).read();
}

async function readAppendedLog(store: ObjectStore, runId: string): Promise<ParsedEventLog> {
  const text = await readIfPresent(store, eventLogUri(store.bucket, runId));
  return text === null ? { events: [], invalidLines: 0 } : parseEventLog(text);
}

async function readIfPresent(store: ObjectStore, uri: string): Promise<string | null> {
  try {
    return (await store.read(uri)).toString("utf8");
  } catch (err) {
    if ((err as Error).name === "NotFoundError") return null;
    throw err;
  }
}

/**
 * Logs the event unless the log already holds it (deliveries are at least once): one create-only write of its own
 * object (ifGenerationMatch 0), so no name is written twice and no writer waits for another. Resolves true when the
 * event was logged now, false when it was already there.
 */
export async function appendRunEvent(store: ObjectStore, event: PipelineEvent): Promise<boolean> {
  const uri = eventObjectUri(store.bucket, event);
  // A redelivery finds its object and writes nothing: the name is written once, whatever the deliveries.
  if (await store.stat(uri)) return false;
  try {
    await store.write(uri, JSON.stringify(event), {
      contentType: "application/json",
      ifGenerationMatch: "0",
    });
    return true;
  } catch (err) {
    if (err instanceof PreconditionFailedError || (err as Error).name === "PreconditionFailedError")
      return false;
    throw err;
  }
}
