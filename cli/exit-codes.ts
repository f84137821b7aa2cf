// What the command's exit status means, so scripts can branch on a run's outcome without parsing text.
import type { Outcome } from "../events/catalogue.ts";

export const EXIT = {
  /** The command did what it was asked; for a run: promoted. */
  ok: 0,
  /** Bad usage, bad config, an unknown run, a refused retrigger, or an error talking to the bucket. */
  usage: 1,
  /** The run failed: a job failed beyond its retries, or the upload was unusable. */
  failed: 2,
  /** The run completed without promoting a model: below_threshold, blocked_bias or not_better. */
  notPromoted: 3,
  /** The run is still going (`status` of a running run, `watch --timeout` expired, `run --detach`). */
  running: 4,
  /** Interrupted by Ctrl-C. */
  interrupted: 130,
} as const;

/** The exit status for a run's state: 0 promoted, 2 failed, 3 not promoted, 4 still running. */
export function exitCodeForRun(status: "waiting" | "running" | "completed", outcome: Outcome | null): number {
  if (status !== "completed" || outcome === null) return EXIT.running;
  if (outcome === "promoted") return EXIT.ok;
  if (outcome === "failed") return EXIT.failed;
  return EXIT.notPromoted;
}

export const EXIT_CODES_HELP = `exit status:
  0    success; for run, retrigger, watch and status: the run was promoted
  1    usage or config error, unknown run, retrigger refused, storage error
  2    the run failed
  3    the run completed without promoting a model (below_threshold, blocked_bias, not_better)
  4    the run is still running (status, watch --timeout, run --detach)
  130  interrupted`;
