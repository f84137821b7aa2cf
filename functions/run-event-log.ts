// The per-run event log, runs/RUN_ID/events.jsonl: every event of a run, one line each, so another process can replay and follow it.
import { PipelineEvent } from "../events/catalogue.ts";
import { runDir } from "../schemas/names.ts";
import { PreconditionFailedError, type ObjectStore } from "./ports/object-store.ts";

export const EVENT_LOG_NAME = "events.jsonl";

/** Compare-and-swap tries before the append gives up (the platform then redelivers). */
const MAX_TRIES = 30;

export function eventLogUri(bucket: string, runId: string): string {
  return `${runDir(bucket, runId)}/${EVENT_LOG_NAME}`;
}

export interface ParsedEventLog {
  events: PipelineEvent[];
  /** Lines that are not a valid event (a torn write, a newer schema): counted, never fatal to a reader. */
  invalidLines: number;
}

/** Parses the log's text; unknown or broken lines are counted and skipped. */
export function parseEventLog(text: string): ParsedEventLog {
  const events: PipelineEvent[] = [];
  let invalidLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      invalidLines += 1;
      continue;
    }
    const parsed = PipelineEvent.safeParse(json);
    if (parsed.success) events.push(parsed.data);
    else invalidLines += 1;
  }
  return { events, invalidLines };
}

/** The run's events in log order; an empty list when the run has no log yet. */
export async function readRunEvents(store: ObjectStore, runId: string): Promise<ParsedEventLog> {
  const uri = eventLogUri(store.bucket, runId);
  if (!(await store.stat(uri))) return { events: [], invalidLines: 0 };
  try {
    return parseEventLog((await store.read(uri)).toString("utf8"));
  } catch (err) {
    if ((err as Error).name === "NotFoundError") return { events: [], invalidLines: 0 };
    throw err;
  }
}

/**
 * Appends the event unless the log already holds its id (deliveries are at least once). Object stores cannot
 * append, so this is a read-modify-write on the object's generation, retried when another writer came first.
 * Resolves true when the event was appended, false when it was already there.
 */
export async function appendRunEvent(store: ObjectStore, event: PipelineEvent): Promise<boolean> {
  const uri = eventLogUri(store.bucket, event.runId);
  const line = `${JSON.stringify(event)}\n`;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    // Stat before read: if the object changes in between, the conditional write fails and we read again.
    const stat = await store.stat(uri);
    const generation = stat?.generation ?? "0";
    let text = "";
    if (stat) {
      try {
        text = (await store.read(uri)).toString("utf8");
      } catch (err) {
        if ((err as Error).name !== "NotFoundError") throw err;
      }
    }
    if (holdsEvent(text, event.id)) return false;
    const prefix = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    try {
      await store.write(uri, prefix + line, {
        contentType: "application/x-ndjson",
        ifGenerationMatch: generation,
      });
      return true;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) && (err as Error).name !== "PreconditionFailedError")
        throw err;
      await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** Math.min(tries, 6)) * Math.random()));
    }
  }
  throw new Error(`event log of run ${event.runId} kept changing under ${MAX_TRIES} tries`);
}

function holdsEvent(text: string, id: string): boolean {
  if (!text.includes(JSON.stringify(id))) return false;
  return text.split("\n").some((line) => {
    try {
      return line !== "" && (JSON.parse(line) as { id?: unknown }).id === id;
    } catch {
      return false;
    }
  });
}
