// track-run: records runs in the experiment tracker (MLflow); a tracker that fails never fails or delays a run.
import type { PipelineConfig } from "../schemas/config.ts";
import { decodeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import type { CloudEventHandler, HandlerDeps } from "./handler.ts";
import { handleAsObserver } from "./observer-handler.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import type { ExperimentTracker } from "../tracking/experiment-tracker.ts";
import { isTracked, trackEvent } from "../tracking/run-tracking.ts";

export interface TrackRunDeps extends HandlerDeps {
  config: PipelineConfig;
  /** Null when no tracking server is configured: events are acknowledged and nothing is recorded. */
  tracker: ExperimentTracker | null;
  store: ObjectStore;
  ledger: RunLedger;
  /** After a failure, tracking pauses this long so an unreachable server costs one warning, not one per event. */
  pauseAfterFailureMs?: number;
}

export function makeTrackRun(deps: TrackRunDeps): CloudEventHandler {
  const pauseMs = deps.pauseAfterFailureMs ?? 30_000;
  let pausedUntil = 0;
  return handleAsObserver("track-run", deps, async (cloudEvent) => {
    const event = decodeEvent(unwrapPubSub(cloudEvent).data);
    const tracker = deps.tracker;
    if (!tracker || !isTracked(event)) return;
    const log = deps.log.child({ runId: event.runId, eventId: event.id, component: "track-run" });
    const now = deps.clock.now().getTime();
    if (now < pausedUntil) {
      log.debug(`MLflow tracking paused after a failure; ${event.type} not recorded`);
      return;
    }
    try {
      await trackEvent({ tracker, store: deps.store, ledger: deps.ledger, config: deps.config, log }, event);
      log.debug(`recorded ${event.type} in MLflow at ${tracker.uri}`);
    } catch (err) {
      pausedUntil = now + pauseMs;
      log.warn(
        `MLflow tracking skipped ${event.type}: ${(err as Error).message}; the run goes on, tracking resumes in ${Math.round(pauseMs / 1000)} s`,
        { trackingUri: tracker.uri },
      );
    }
  });
}
