// retrigger-run: what a person publishes restarts a run from any step, within the run's manual budget.
import { decodeRetriggerRequest } from "../events/codec.ts";
import { unwrapPubSub } from "./cloud-event.ts";
import {
  handleWithDeadLetters,
  RejectedMessageError,
  type CloudEventHandler,
  type HandlerDeps,
} from "./handler.ts";
import { processEvent, type RunProcessorDeps } from "./run-processor.ts";

export type RetriggerRunDeps = HandlerDeps & RunProcessorDeps;

export function makeRetriggerRun(deps: RetriggerRunDeps): CloudEventHandler {
  return handleWithDeadLetters("retrigger-run", deps, async (cloudEvent) => {
    const message = unwrapPubSub(cloudEvent);
    const request = decodeRetriggerRequest(message.data, message.messageId, message.publishTime);
    const decision = await processEvent(deps, request);
    // Unknown run, missing prerequisite, spent budget: nothing changed; the request is kept with its reason.
    if (decision.kind === "rejected") throw new RejectedMessageError(decision.reason);
  });
}
