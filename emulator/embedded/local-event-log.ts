// The embedded runtime's event log writer: every event the bus carries, appended to its run's events.jsonl, in order.
import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { eventLogUri, readRunEvents } from "../../functions/run-event-log.ts";
import type { LocalObjectStore } from "../../platform/local/local-object-store.ts";

/**
 * In the cloud, log-run-events appends with compare-and-swap per delivery. In one process an observer sees every
 * event as it is published, so a queue and an O_APPEND write per event do the same with a fraction of the file
 * I/O, and keep the log in publish order. Ids already in a run's log are skipped (read once per run).
 */
export class LocalEventLog {
  private readonly seen = new Map<string, Promise<Set<string>>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LocalObjectStore,
    private readonly log: Logger,
  ) {}

  /** Queues the event; never throws (the bus's observers must not). */
  append(event: PipelineEvent): void {
    this.queue = this.queue.then(() =>
      this.write(event).catch((err: unknown) =>
        this.log.warn(`event log: could not append ${event.type}: ${(err as Error).message}`, {
          runId: event.runId,
        }),
      ),
    );
  }

  /** Resolves once every queued event is written. */
  idle(): Promise<void> {
    return this.queue;
  }

  private async write(event: PipelineEvent): Promise<void> {
    let ids = this.seen.get(event.runId);
    if (!ids) {
      ids = readRunEvents(this.store, event.runId).then((l) => new Set(l.events.map((e) => e.id)));
      this.seen.set(event.runId, ids);
    }
    const known = await ids;
    if (known.has(event.id)) return;
    known.add(event.id);
    const path = this.store.pathOf(eventLogUri(this.store.bucket, event.runId));
    await mkdir(dirname(path), { recursive: true });
    await appendFile(path, `${JSON.stringify(event)}\n`);
  }
}
