// report-run: when a run completes, renders its report into the run folder (runs/RUN_ID/report.html).
import type { PipelineConfig } from "../schemas/config.ts";
import { decodeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import type { CloudEventHandler, HandlerDeps } from "./handler.ts";
import { handleAsObserver } from "./observer-handler.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { displayLocation } from "../report/report-location.ts";

export interface ReportRunDeps extends HandlerDeps {
  config: PipelineConfig;
  store: ObjectStore;
  ledger: RunLedger;
}

export function makeReportRun(deps: ReportRunDeps): CloudEventHandler {
  return handleAsObserver("report-run", deps, async (cloudEvent) => {
    const event = decodeEvent(unwrapPubSub(cloudEvent).data);
    if (event.type !== "run.completed") return;
    const log = deps.log.child({ runId: event.runId, eventId: event.id, component: "report-run" });
    const state = (await deps.ledger.get(event.runId))?.state;
    // A run retriggered since this event was published reports again when it completes again.
    if (!state || state.status !== "completed") {
      log.info(`report of ${event.runId} skipped: the run is ${state ? state.status : "unknown"}`);
      return;
    }
    // Loaded on first use: the charting libraries are large, and most functions never render a report.
    const { writeRunReport } = await import("../report/render-report.ts");
    const started = deps.clock.now().getTime();
    const { uri } = await writeRunReport(
      { store: deps.store, ledger: deps.ledger, config: deps.config, now: () => deps.clock.now() },
      event.runId,
    );
    log.info(`report of ${event.runId} (${state.outcome}) written to ${displayLocation(deps.store, uri)}`, {
      reportUri: uri,
      renderMs: deps.clock.now().getTime() - started,
    });
  });
}
