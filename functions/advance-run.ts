// advance-run: every pipeline event lands here and moves its run on through the decision core.
import { decodeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import { processEvent, type RunProcessorDeps } from "./run-processor.ts";

export type AdvanceRunDeps = HandlerDeps & RunProcessorDeps;

export function makeAdvanceRun(deps: AdvanceRunDeps): CloudEventHandler {
  return handleWithDeadLetters("advance-run", deps, async (cloudEvent) => {
    const event = decodeEvent(unwrapPubSub(cloudEvent).data);
    await processEvent(deps, event);
  });
}
