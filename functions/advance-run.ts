// advance-run: every pipeline event lands here and moves its run on through the decision core.
import { decodeEvent } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import {
  handleWithDeadLetters,
  RejectedMessageError,
  type CloudEventHandler,
  type HandlerDeps,
} from "./handler.ts";
import { processEvent, type RunProcessorDeps } from "./run-processor.ts";

export type AdvanceRunDeps = HandlerDeps & RunProcessorDeps;

export function makeAdvanceRun(deps: AdvanceRunDeps): CloudEventHandler {
  return handleWithDeadLetters("advance-run", deps, async (cloudEvent) => {
    const event = decodeEvent(unwrapPubSub(cloudEvent).data);
    const decision = await processEvent(deps, event);
    // A well-formed event the run refuses (its artifacts are not the run's own): kept with its reason, never retried.
    if (decision.kind === "rejected") throw new RejectedMessageError(decision.reason);
  });
}
