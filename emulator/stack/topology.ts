// The stack's topics and subscriptions, derived from the topic registry: one per consuming function, dead letters beside each.
import type { PubSub } from "@google-cloud/pubsub";
import {
  TOPICS,
  TOPIC_KEYS,
  deadLetterTopicId,
  topicId,
  topicsDeliveredTo,
  type SubscriberName,
  type TopicDef,
} from "../../events/topics.ts";

/** Where the Cloud Storage emulator publishes its notifications of uploads/: the registry's topic, as deployed. */
export function uploadNotificationTopic(prefix: string): string {
  return topicId("uploadNotifications", prefix);
}

/** Every event-driven function: each consumer (start-run first, on uploads) and each observer the registry names. */
export const FUNCTION_NAMES: readonly SubscriberName[] = [
  ...new Set<SubscriberName>([
    ...TOPIC_KEYS.flatMap((k): readonly SubscriberName[] => TOPICS[k].consumers),
    ...TOPIC_KEYS.flatMap((k): readonly SubscriberName[] => (TOPICS[k] as TopicDef).observers ?? []),
  ]),
];

/** A trigger: messages of one topic delivered to one function, the way Eventarc delivers them. */
export interface Route {
  subscription: string;
  topic: string;
  fn: SubscriberName;
  deadLetterTopic: string;
}

export function routesFor(prefix: string, functions: readonly SubscriberName[] = FUNCTION_NAMES): Route[] {
  const routes: Route[] = [];
  for (const fn of functions) {
    for (const key of topicsDeliveredTo(fn)) {
      const topic = topicId(key, prefix);
      routes.push({
        subscription: `${topic}--${fn}`,
        topic,
        fn,
        deadLetterTopic: deadLetterTopicId(key, prefix),
      });
    }
  }
  return routes;
}

/** Every topic the stack holds: the registry's (the bucket notifications' among them) and their dead-letter topics. */
export function topicNames(prefix: string): string[] {
  return TOPIC_KEYS.flatMap((k) => [topicId(k, prefix), deadLetterTopicId(k, prefix)]);
}

/** The pull subscription that keeps a dead-letter topic's messages for people and tests to read. */
export function keepSubscription(deadLetterTopic: string): string {
  return `${deadLetterTopic}--keep`;
}

export interface TopologyOptions {
  prefix: string;
  routes: Route[];
  /** Push endpoint of a route; null: a pull subscription (the relay pulls, e.g. from pstest). */
  pushEndpoint: (route: Route) => string | null;
  /** Deliveries before a message goes to the dead-letter topic (Pub/Sub allows 5 to 100). */
  maxDeliveryAttempts?: number;
  ackDeadlineSeconds?: number;
}

/** Creates what is missing; an existing topic or subscription is left as it is. */
export async function createTopology(pubsub: PubSub, options: TopologyOptions): Promise<void> {
  const project = pubsub.projectId;
  for (const name of topicNames(options.prefix)) await ignoreExists(pubsub.createTopic(name));
  for (const name of topicNames(options.prefix).filter((n) => n.endsWith("-dead-letter"))) {
    await ignoreExists(pubsub.topic(name).createSubscription(keepSubscription(name)));
  }
  for (const route of options.routes) {
    const endpoint = options.pushEndpoint(route);
    await ignoreExists(
      pubsub.topic(route.topic).createSubscription(route.subscription, {
        ackDeadlineSeconds: options.ackDeadlineSeconds ?? 120,
        ...(endpoint ? { pushConfig: { pushEndpoint: endpoint } } : {}),
        deadLetterPolicy: {
          deadLetterTopic: `projects/${project}/topics/${route.deadLetterTopic}`,
          maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
        },
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
      }),
    );
  }
}

/** The registry topics and who they deliver to, for the start message. */
export function describeTopology(prefix: string): string[] {
  return TOPIC_KEYS.map((k) => {
    const t = TOPICS[k] as TopicDef;
    const to = [...t.consumers, ...(t.observers ?? []).map((o) => `${o} (observer)`)];
    return `${topicId(k, prefix)} -> ${to.length > 0 ? to.join(", ") : "(nobody)"}`;
  });
}

async function ignoreExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 6) throw err;
  }
}
