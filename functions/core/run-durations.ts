// How long a run worked and how long it sat idle: the time between its ending and a later retrigger is not work.
import type { TrailEntry } from "../../schemas/run-state.ts";

export interface RunTimes {
  createdAt: string;
  updatedAt: string;
  status: "running" | "completed";
  trail: readonly Pick<TrailEntry, "at" | "step" | "attempt">[];
}

export interface RunDurations {
  /** Milliseconds the run was working: from its start, or a retrigger, to its completion (or to now while running). */
  workingMs: number;
  /** Milliseconds it sat completed before a retrigger restarted it. */
  idleMs: number;
}

/**
 * Splits a run's lifetime using its decision trail: a completion is the one trail entry without a step (attempt 0),
 * and the gap from a completion to the next entry (a retrigger) is idle; every other gap is work.
 */
export function runDurations(run: RunTimes, now: Date): RunDurations {
  const times = run.trail.map((t) => ({
    at: Date.parse(t.at),
    completion: t.step === null && t.attempt === 0,
  }));
  const start = Date.parse(run.createdAt);
  const end = run.status === "completed" ? Date.parse(run.updatedAt) : now.getTime();
  let workingMs = 0;
  let idleMs = 0;
  let from = start;
  let idle = false;
  for (const t of times.sort((a, b) => a.at - b.at)) {
    const gap = Math.max(0, Math.min(t.at, end) - from);
    if (idle) idleMs += gap;
    else workingMs += gap;
    from = Math.max(from, Math.min(t.at, end));
    idle = t.completion;
  }
  const tail = Math.max(0, end - from);
  if (idle) idleMs += tail;
  else workingMs += tail;
  return { workingMs, idleMs };
}
