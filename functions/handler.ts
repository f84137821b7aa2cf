// What every event-driven function shares: ack and keep malformed messages as dead letters, throw on transient failures.
import { MalformedMessageError } from "../events/codec.ts";
import type { CloudEventLike } from "./cloud-event.ts";
import type { Clock } from "../platform/ports/clock.ts";
import { UnkeepableLetterError, type DeadLetterSink } from "../platform/ports/dead-letters.ts";
import { topicIdProblem } from "../schemas/names.ts";
import type { Logger } from "../platform/ports/logger.ts";

export interface HandlerDeps {
  log: Logger;
  deadLetters: DeadLetterSink;
  clock: Clock;
}

export type CloudEventHandler = (event: CloudEventLike) => Promise<void>;

/**
 * A message that can never be handled is logged at ERROR, kept as a dead letter and acknowledged (the handler
 * returns, functions-framework answers 204). Anything else propagates: the platform answers 500 and redelivers.
 */
export function handleWithDeadLetters(
  fn: string,
  deps: HandlerDeps,
  handler: CloudEventHandler,
): CloudEventHandler {
  return async (event) => {
    try {
      await handler(event);
    } catch (err) {
      if (!(err instanceof MalformedMessageError || err instanceof RejectedMessageError)) throw err;
      const { data, attributes, messageId } = rawOf(event);
      // Keep it beside the topic it came from (its dead-letter topic in the cloud), else under the function's name.
      const source = topicOf(event) ?? fn;
      deps.log.error(`${fn}: ${err.message}; kept as a dead letter`, {
        source,
        messageId,
        cloudEventId: event.id,
      });
      try {
        await deps.deadLetters.keep({
          source,
          messageId,
          data,
          attributes,
          reason: err.message,
          receivedAt: deps.clock.now().toISOString(),
        });
      } catch (keepErr) {
        // Storage that is down is transient: redeliver. A letter the sink refuses would be refused for ever.
        if (!(keepErr instanceof UnkeepableLetterError)) throw keepErr;
        deps.log.error(
          `${fn}: the message cannot be kept as a dead letter (${keepErr.message}); acknowledged`,
          {
            source,
            messageId,
            cloudEventId: event.id,
            reason: err.message,
          },
        );
      }
    }
  };
}

/** A well-formed message the pipeline refuses (a retrigger of an unknown run): logged and kept, never retried. */
export class RejectedMessageError extends Error {
  override readonly name = "RejectedMessageError";
}

/**
 * The topic a Pub/Sub push came from (Eventarc sets the CloudEvent source to it), so its dead-letter topic is known;
 * null when the source names none, or names something Pub/Sub could not have (`topics/..`): the source is the
 * sender's to write, and the topic id later becomes a folder name.
 */
export function topicOf(event: CloudEventLike): string | null {
  const topic = /^\/\/pubsub\.googleapis\.com\/projects\/[^/]+\/topics\/([^/]+)$/.exec(
    event.source ?? "",
  )?.[1];
  return topic !== undefined && topicIdProblem(topic) === null ? topic : null;
}

function rawOf(event: CloudEventLike): {
  data: Buffer;
  attributes: Record<string, string>;
  messageId: string;
} {
  const message = (
    event.data as { message?: { data?: unknown; attributes?: unknown; messageId?: unknown } } | undefined
  )?.message;
  if (message && typeof message.data === "string") {
    const attributes =
      typeof message.attributes === "object" && message.attributes !== null
        ? (message.attributes as Record<string, string>)
        : {};
    return {
      data: Buffer.from(message.data, "base64"),
      attributes,
      messageId: typeof message.messageId === "string" ? message.messageId : (event.id ?? "unknown"),
    };
  }
  return { data: Buffer.from(JSON.stringify(event)), attributes: {}, messageId: event.id ?? "unknown" };
}
