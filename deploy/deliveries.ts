// Which function reads which topic: every (topic, consumer) and (topic, observer) pair of the topic registry.
import { TOPICS, TOPIC_KEYS, type TopicDef, type TopicKey } from "../events/topics.ts";
import type { EventFunction } from "./settings.ts";

/** One push subscription's worth: a topic delivered to one function. */
export interface Delivery {
  topic: TopicKey;
  fn: EventFunction;
  /** A consumer steers runs (the registry's `consumers`); an observer only watches them (its `observers`). */
  as: "consumer" | "observer";
  /**
   * Whether the function itself puts malformed messages on the topic's dead-letter topic. Consumers always do; an
   * observer only where no consumer reads the topic (functions/observer-handler.ts: the router keeps that copy).
   */
  keepsDeadLetters: boolean;
}

/** Every delivery the registry names, topic by topic, consumers before observers. */
export function deliveries(): Delivery[] {
  return TOPIC_KEYS.flatMap((topic): Delivery[] => {
    const def: TopicDef = TOPICS[topic];
    return [
      ...def.consumers.map((fn): Delivery => ({ topic, fn, as: "consumer", keepsDeadLetters: true })),
      ...(def.observers ?? []).map((fn): Delivery => ({
        topic,
        fn,
        as: "observer",
        keepsDeadLetters: def.consumers.length === 0,
      })),
    ];
  });
}
