// log-run-events: appends every pipeline event to its run's events.jsonl, so `sentiment-pipeline watch` can follow a run.
import { decodeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import type { CloudEventHandler, HandlerDeps } from "./handler.ts";
import { handleAsObserver } from "./observer-handler.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import { appendRunEvent } from "./run-event-log.ts";

export interface LogRunEventsDeps extends HandlerDeps {
  store: ObjectStore;
}

export function makeLogRunEvents(deps: LogRunEventsDeps): CloudEventHandler {
  return handleAsObserver("log-run-events", deps, async (cloudEvent) => {
    const event = decodeEvent(unwrapPubSub(cloudEvent).data);
    const appended = await appendRunEvent(deps.store, event);
    deps.log
      .child({ runId: event.runId, eventId: event.id, component: "log-run-events" })
      .debug(appended ? `logged ${event.type}` : `${event.type} already logged`);
  });
}
