// Follows a run from another process: polls its state document and its event log until the run has settled.
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { ObjectStore } from "../../platform/ports/object-store.ts";
import type { RunLedger } from "../../platform/ports/run-ledger.ts";
import { RunEventReader } from "../../functions/run-event-log.ts";
import { emptyView, isFinished, withEvent, withState, type RunView } from "./run-view.ts";

export interface FollowOptions {
  store: ObjectStore;
  ledger: RunLedger;
  runId: string;
  /** Called with the view after each change and the events that are new since the last call. */
  onUpdate: (view: RunView, newEvents: PipelineEvent[]) => void;
  intervalMs?: number;
  /** Give up after this long; the promise resolves with `timedOut`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Stop at the first poll instead of following (status, `watch --once`). */
  once?: boolean;
}

export interface FollowResult {
  view: RunView;
  events: PipelineEvent[];
  timedOut: boolean;
  aborted: boolean;
}

export async function followRun(options: FollowOptions): Promise<FollowResult> {
  const { store, ledger, runId } = options;
  const interval = options.intervalMs ?? 500;
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
  const seen = new Set<string>();
  const events: PipelineEvent[] = [];
  let view = emptyView(runId);
  let lastKey = "";
  // Reads each event object once; later polls list the run's events/ prefix and fetch only new names.
  const reader = new RunEventReader(store, runId);

  const poll = async (): Promise<void> => {
    const [doc, log] = await Promise.all([ledger.get(runId), reader.read()]);
    const fresh = log.events.filter((e) => !seen.has(e.id));
    for (const e of fresh) {
      seen.add(e.id);
      events.push(e);
      view = withEvent(view, e);
    }
    // The state last: it has the final word on statuses and attempts, events only add progress and summaries.
    if (doc) view = withState(view, doc.state);
    const key = `${doc?.generation ?? ""}#${events.length}`;
    if (key !== lastKey || fresh.length > 0) {
      lastKey = key;
      options.onUpdate(view, fresh);
    }
  };

  for (;;) {
    await poll();
    if (options.once) return { view, events, timedOut: false, aborted: false };
    if (isFinished(view)) {
      // The last events (run.completed and what observers log after it) may land just after the state settles.
      await sleep(Math.min(interval, 300), options.signal);
      await poll();
      return { view, events, timedOut: false, aborted: false };
    }
    if (options.signal?.aborted) return { view, events, timedOut: false, aborted: true };
    if (Date.now() > deadline) return { view, events, timedOut: true, aborted: false };
    await sleep(interval, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
