// Topics, dead-letter topics and push subscriptions, all derived from the topic registry.
import { TOPICS, TOPIC_KEYS, type Principal, type TopicKey } from "../../events/topics.ts";
import { deliveries } from "../deliveries.ts";
import type { PlanContext } from "./context.ts";
import { keys, pubsubAgent, ref, vars } from "./context.ts";
import { iamBinding, labelList, resourcePolicy } from "./commands.ts";
import type { Argv, Resolve, Resource } from "./types.ts";

/** What gcloud shows for a subscription (the API's resource). */
interface SubscriptionDescription {
  topic?: string;
  ackDeadlineSeconds?: number;
  messageRetentionDuration?: string;
  pushConfig?: { pushEndpoint?: string; oidcToken?: { serviceAccountEmail?: string; audience?: string } };
  retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
  deadLetterPolicy?: { deadLetterTopic?: string; maxDeliveryAttempts?: number };
  expirationPolicy?: { ttl?: string };
}

/** Topics, their dead-letter topics and the hold subscriptions that keep dead letters. */
export function topicResources(ctx: PlanContext): Resource[] {
  const { g, names, settings } = ctx;
  const labels = `--labels=${labelList(settings.labels)}`;
  const retention = `${settings.delivery.deadLetterRetentionDays}d`;
  return TOPIC_KEYS.flatMap((key): Resource[] => {
    const topic = names.topic(key);
    const dlt = names.deadLetterTopic(key);
    const hold = names.deadLetterHold(key);
    return [
      {
        key: keys.topic(key),
        kind: "topic",
        name: topic,
        nameKind: "topic",
        doc: `carries ${TOPICS[key].carries}: ${TOPICS[key].doc}`,
        dependsOn: [keys.apis],
        describe: g.read("pubsub", "topics", "describe", topic),
        create: [g.write("pubsub", "topics", "create", topic, labels)],
        delete: [g.write("pubsub", "topics", "delete", topic)],
      },
      {
        key: keys.deadLetterTopic(key),
        kind: "topic",
        name: dlt,
        nameKind: "topic",
        doc: `keeps ${topic} messages that could not be delivered or were malformed`,
        dependsOn: [keys.apis],
        describe: g.read("pubsub", "topics", "describe", dlt),
        create: [g.write("pubsub", "topics", "create", dlt, labels)],
        delete: [g.write("pubsub", "topics", "delete", dlt)],
      },
      {
        key: keys.deadLetterHold(key),
        kind: "subscription",
        name: hold,
        nameKind: "subscription",
        doc: `holds what lands on ${dlt} for ${retention} (a topic without a subscription drops its messages)`,
        dependsOn: [keys.deadLetterTopic(key)],
        describe: g.read("pubsub", "subscriptions", "describe", hold),
        drift: (described) => {
          const d = described as SubscriptionDescription;
          const want = `${settings.delivery.deadLetterRetentionDays * 86400}s`;
          return Promise.resolve(
            d.messageRetentionDuration === want
              ? []
              : [`retention ${d.messageRetentionDuration ?? "unset"}, want ${want}`],
          );
        },
        create: [
          g.write(
            "pubsub",
            "subscriptions",
            "create",
            hold,
            `--topic=${dlt}`,
            `--message-retention-duration=${retention}`,
            "--expiration-period=never",
            labels,
          ),
        ],
        update: [
          g.write(
            "pubsub",
            "subscriptions",
            "update",
            hold,
            `--message-retention-duration=${retention}`,
            "--expiration-period=never",
          ),
        ],
        delete: [g.write("pubsub", "subscriptions", "delete", hold)],
      },
      // Pub/Sub's own agent forwards undeliverable messages: it must be allowed to publish on the dead-letter topic.
      iamBinding({
        member: pubsubAgent(),
        role: "roles/pubsub.publisher",
        target: resourcePolicy(g, keys.deadLetterTopic(key), ["pubsub", "topics"], dlt),
        doc: `lets Pub/Sub move undeliverable ${topic} messages to ${dlt}`,
        dependsOn: [],
      }),
    ];
  });
}

/** One push subscription per (topic, consumer) and (topic, observer) of the registry, with its delivery policy. */
export function subscriptionResources(ctx: PlanContext): Resource[] {
  const { g, names, settings } = ctx;
  const d = settings.delivery;
  const invokerEmail = names.serviceAccountEmail("invoker");
  const out: Resource[] = [];
  for (const { topic: key, fn, as } of deliveries()) {
    const name = names.pushSubscription(key, fn);
    const topic = names.topic(key);
    const dlt = names.deadLetterTopic(key);
    const url = ref(vars.functionUrl(fn));
    // The topic in the path lets the functions framework name the source of a raw push as it does for Eventarc.
    const endpoint = `${url}/projects/${names.project}/topics/${topic}`;
    const ackDeadline = Math.min(
      600,
      Math.max(d.minAckDeadlineSeconds, settings.functions[fn].timeoutSeconds),
    );
    const policy = [
      `--push-endpoint=${endpoint}`,
      `--push-auth-service-account=${invokerEmail}`,
      `--push-auth-token-audience=${url}`,
      `--ack-deadline=${ackDeadline}`,
      `--min-retry-delay=${d.minRetryDelaySeconds}s`,
      `--max-retry-delay=${d.maxRetryDelaySeconds}s`,
      `--dead-letter-topic=${dlt}`,
      `--max-delivery-attempts=${d.maxDeliveryAttempts}`,
      "--expiration-period=never",
    ];
    const drift = async (described: unknown, resolve: Resolve): Promise<string[]> => {
      const s = described as SubscriptionDescription;
      const want: Array<[string, unknown, unknown]> = [
        ["push endpoint", s.pushConfig?.pushEndpoint, await resolve(endpoint)],
        ["push identity", s.pushConfig?.oidcToken?.serviceAccountEmail, invokerEmail],
        ["token audience", s.pushConfig?.oidcToken?.audience, await resolve(url)],
        ["ack deadline", s.ackDeadlineSeconds, ackDeadline],
        ["minimum backoff", s.retryPolicy?.minimumBackoff, `${d.minRetryDelaySeconds}s`],
        ["maximum backoff", s.retryPolicy?.maximumBackoff, `${d.maxRetryDelaySeconds}s`],
        ["dead-letter topic", s.deadLetterPolicy?.deadLetterTopic, `projects/${names.project}/topics/${dlt}`],
        ["max delivery attempts", s.deadLetterPolicy?.maxDeliveryAttempts, d.maxDeliveryAttempts],
        ["expiration", s.expirationPolicy?.ttl ?? "never", "never"],
      ];
      return want
        .filter(([, have, wanted]) => have !== wanted)
        .map(([what, have, wanted]) => `${what}: ${String(have)} -> ${String(wanted)}`);
    };
    const create: Argv = g.write(
      "pubsub",
      "subscriptions",
      "create",
      name,
      `--topic=${topic}`,
      ...policy,
      `--labels=${labelList(settings.labels)}`,
    );
    out.push(
      {
        key: keys.subscription(key, fn),
        kind: "subscription",
        name,
        nameKind: "subscription",
        doc: `pushes ${topic} to ${fn} (${TOPICS[key].carries}${as === "observer" ? ", observer" : ""})`,
        dependsOn: [keys.topic(key), keys.deadLetterTopic(key), keys.fn(fn), keys.serviceAccount("invoker")],
        describe: g.read("pubsub", "subscriptions", "describe", name),
        provisioning: "Pub/Sub's service agent signs the pushes as the new invoker account",
        drift,
        create: [create],
        update: [g.write("pubsub", "subscriptions", "update", name, ...policy)],
        delete: [g.write("pubsub", "subscriptions", "delete", name)],
      },
      // With a dead-letter policy, Pub/Sub's agent acknowledges the forwarded message on the source subscription.
      iamBinding({
        member: pubsubAgent(),
        role: "roles/pubsub.subscriber",
        target: resourcePolicy(g, keys.subscription(key, fn), ["pubsub", "subscriptions"], name),
        doc: `lets Pub/Sub acknowledge ${name} messages it moved to ${dlt}`,
        dependsOn: [],
      }),
    );
  }
  // Pub/Sub mints the push tokens as the invoker (projects created before April 2021 need this grant explicitly).
  out.push(
    iamBinding({
      member: pubsubAgent(),
      role: "roles/iam.serviceAccountTokenCreator",
      target: resourcePolicy(g, keys.serviceAccount("invoker"), ["iam", "service-accounts"], invokerEmail),
      doc: "lets Pub/Sub sign push requests as the invoker",
      dependsOn: [],
    }),
  );
  return out;
}

/** People who may publish on topics whose registry entry lists "user" (the retrigger requests). */
export function userPublisherBindings(ctx: PlanContext): Resource[] {
  const { g, names, input } = ctx;
  const userTopics = TOPIC_KEYS.filter((k) =>
    (TOPICS[k].publishers as readonly Principal[]).includes("user"),
  );
  return userTopics.flatMap((key: TopicKey) =>
    input.retriggerMembers.map((member) =>
      iamBinding({
        member,
        role: "roles/pubsub.publisher",
        target: resourcePolicy(g, keys.topic(key), ["pubsub", "topics"], names.topic(key)),
        doc: `lets ${member} publish ${TOPICS[key].carries}`,
        dependsOn: [],
      }),
    ),
  );
}
