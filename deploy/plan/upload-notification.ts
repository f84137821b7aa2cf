// The bucket's Pub/Sub notification of uploads/ (OBJECT_FINALIZE only) that start-run reads, and its publisher grant.
import { TOPICS, TOPIC_KEYS, type Principal, type TopicKey } from "../../events/topics.ts";
import { UPLOADS_PREFIX } from "../../events/object-notification.ts";
import type { PlanContext } from "./context.ts";
import { keys, ref, vars } from "./context.ts";
import { iamBinding, resourcePolicy } from "./commands.ts";
import type { PlanVariable, Resource } from "./types.ts";

export const UPLOAD_EVENT_TYPE = "OBJECT_FINALIZE";

/** A notification configuration as `gcloud storage buckets notifications list --format=json` prints it. */
interface ListedNotification {
  "Notification Configuration"?: {
    id?: string;
    topic?: string;
    event_types?: string[];
    object_name_prefix?: string;
    payload_format?: string;
  };
}

/** The registry's topic that Cloud Storage publishes to. */
export function notificationTopicKey(): TopicKey {
  const key = TOPIC_KEYS.find((k) =>
    (TOPICS[k].publishers as readonly Principal[]).includes("storage-agent"),
  );
  if (!key) throw new Error("no topic in the registry lists storage-agent as a publisher");
  return key;
}

/** gcloud's key for a listed configuration's field (the key holds a space, so it is quoted). */
const field = (name: string) => `"Notification Configuration".${name}`;

function topicPath(ctx: PlanContext): string {
  return `projects/${ctx.names.project}/topics/${ctx.names.topic(notificationTopicKey())}`;
}

export function uploadNotificationResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  const key = notificationTopicKey();
  const topic = names.topic(key);
  const path = topicPath(ctx);
  const bucketUrl = `gs://${names.bucket}`;
  // Cloud Storage checks at creation that its agent may publish: on this one topic, nothing project-wide.
  const agentPublisher = iamBinding({
    member: `serviceAccount:${ref(vars.storageAgent)}`,
    role: "roles/pubsub.publisher",
    target: resourcePolicy(g, keys.topic(key), ["pubsub", "topics"], topic),
    doc: `lets Cloud Storage publish the notifications of gs://${names.bucket}/${UPLOADS_PREFIX} on ${topic}`,
    dependsOn: [],
  });
  const ours = (described: unknown) =>
    (Array.isArray(described) ? (described as ListedNotification[]) : [])
      .map((n) => n["Notification Configuration"] ?? {})
      .filter((n) => n.topic === `//pubsub.googleapis.com/${path}`);
  const notification: Resource = {
    key: keys.notification,
    kind: "notification",
    name: `${bucketUrl} ${UPLOADS_PREFIX} -> ${topic}`,
    doc: `publishes each object finalized under ${UPLOADS_PREFIX} on ${topic}; writes elsewhere in the bucket invoke nothing`,
    dependsOn: [keys.bucket, keys.topic(key), agentPublisher.key],
    describe: g.read("storage", "buckets", "notifications", "list", bucketUrl),
    present: (described) => Promise.resolve(ours(described).length > 0),
    drift: (described) => {
      const diffs: string[] = [];
      for (const n of ours(described)) {
        if (n.object_name_prefix !== UPLOADS_PREFIX)
          diffs.push(`configuration ${n.id}: prefix ${n.object_name_prefix ?? "unset"}`);
        if (JSON.stringify(n.event_types ?? []) !== JSON.stringify([UPLOAD_EVENT_TYPE]))
          diffs.push(`configuration ${n.id}: event types ${JSON.stringify(n.event_types ?? "all")}`);
        if (n.payload_format !== "JSON_API_V1")
          diffs.push(`configuration ${n.id}: payload ${n.payload_format ?? "unset"}`);
      }
      return Promise.resolve(diffs);
    },
    create: [
      g.write(
        "storage",
        "buckets",
        "notifications",
        "create",
        bucketUrl,
        `--topic=${path}`,
        `--event-types=${UPLOAD_EVENT_TYPE}`,
        `--object-prefix=${UPLOADS_PREFIX}`,
        "--payload-format=json",
        // The topic and its publisher grant are the plan's own resources: gcloud must not make them up.
        "--skip-topic-setup",
      ),
    ],
    delete: [
      g.write(
        "storage",
        "buckets",
        "notifications",
        "delete",
        `projects/_/buckets/${names.bucket}/notificationConfigs/${ref(vars.uploadNotification)}`,
      ),
    ],
    provisioning:
      "Cloud Storage checks that its agent may publish on the topic, and the grant takes minutes to apply",
    notes: ["A configuration cannot be changed in place: one that drifted is deleted and created again."],
  };
  // A drifted configuration is replaced: delete the one there, create the planned one.
  notification.update = [...notification.delete!, ...notification.create];
  return [agentPublisher, notification];
}

/** The id of the notification configuration that publishes on the uploads topic (teardown deletes it by id). */
export function uploadNotificationVariable(ctx: PlanContext): PlanVariable {
  const { g, names } = ctx;
  return {
    name: vars.uploadNotification,
    command: g.read(
      "storage",
      "buckets",
      "notifications",
      "list",
      `gs://${names.bucket}`,
      `--filter=${field("topic")}="//pubsub.googleapis.com/${topicPath(ctx)}"`,
      "--limit=1",
      `--format=value(${field("id")})`,
    ),
    dependsOn: [keys.notification],
    doc: `the id of the bucket notification configuration that publishes on ${names.topic(notificationTopicKey())}`,
  };
}
