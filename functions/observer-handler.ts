// What observer functions share: a malformed message is the routers' to keep; an observer keeps it only where no router listens.
import { MalformedMessageError } from "../events/codec.ts";
import { TOPICS, TOPIC_KEYS, type TopicKey } from "../events/topics.ts";
import { handleWithDeadLetters, topicOf, type CloudEventHandler, type HandlerDeps } from "./handler.ts";

/**
 * Like handleWithDeadLetters, except that a malformed message on a topic a router (advance-run, ...) also consumes
 * is logged at WARNING and acknowledged: the router keeps the dead letter, and one copy is enough.
 */
export function handleAsObserver(
  fn: string,
  deps: HandlerDeps,
  handler: CloudEventHandler,
): CloudEventHandler {
  const keeping = handleWithDeadLetters(fn, deps, handler);
  return async (event) => {
    const key = topicKeyOf(topicOf(event));
    if (!key || TOPICS[key].consumers.length === 0) return keeping(event);
    try {
      await handler(event);
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      deps.log.warn(
        `${fn}: ${err.message}; ignored (${TOPICS[key].consumers.join(", ")} keeps the dead letter)`,
        {
          messageId: event.id,
        },
      );
    }
  };
}

/** The registry key of a topic id that may carry the configured prefix: the longest id it ends with. */
export function topicKeyOf(topic: string | null): TopicKey | null {
  if (!topic) return null;
  const matches = TOPIC_KEYS.filter((k) => topic === TOPICS[k].id || topic.endsWith(TOPICS[k].id));
  return matches.sort((a, b) => TOPICS[b].id.length - TOPICS[a].id.length)[0] ?? null;
}
