// The stack's triggers end to end: Pub/Sub messages, bucket notifications of uploads/ among them, reach function hosts.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ObjectNotificationAttributes, ObjectResource } from "../../events/object-notification.ts";
import { deadLetterTopicId, topicId } from "../../events/topics.ts";
import { pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";
import type { StackHandle } from "../../emulator/stack/client.ts";
import { keepSubscription } from "../../emulator/stack/topology.ts";
import { emulatorsMissing, pstestMissing, startEmulators, uniqueName } from "./emulators.ts";
import { eventually } from "./vertex-stand-in-support.ts";

const missing = emulatorsMissing();
const PROJECT = "local-project";
const SOURCE = resolve(import.meta.dirname, "..", "..", "emulator", "stack", "echo-functions.ts");

interface Seen {
  fn: string;
  id: string;
  type: string;
  source: string;
  subject: string | null;
  data: {
    message?: { data: string; attributes?: Record<string, string>; messageId: string; publishTime: string };
    subscription?: string;
  } & Record<string, unknown>;
}

interface Harness {
  stack: StackHandle;
  pubsub: PubSub;
  prefix: string;
  echo: string;
  seen(): Seen[];
}

async function harness(name: string, extra: Parameters<typeof startEmulators>[0] = {}): Promise<Harness> {
  const prefix = `${uniqueName("r")}-`;
  const dir = resolve(".local", "test-emulators");
  const echo = join(dir, `${uniqueName(name)}.jsonl`);
  const stack = await startEmulators({
    name,
    functions: ["start-run", "advance-run"],
    functionSource: SOURCE,
    env: { TOPIC_PREFIX: prefix, SP_ECHO_FILE: echo },
    ...extra,
  });
  const pubsub = new PubSub(pubsubClientOptions(PROJECT, stack.info.endpoints.pubsub));
  const seen = (): Seen[] =>
    existsSync(echo)
      ? readFileSync(echo, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Seen)
      : [];
  return { stack, pubsub, prefix, echo, seen };
}

describe.skipIf(missing !== null)("triggers over the emulator stack", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await harness("relay");
  }, 180_000);

  afterAll(async () => {
    await h?.pubsub.close();
    await h?.stack.stop();
  }, 60_000);

  it("delivers a Pub/Sub message to its function as Eventarc's messagePublished CloudEvent", async () => {
    const topic = topicId("dataPrepared", h.prefix);
    const messageId = await h.pubsub
      .topic(topic)
      .publishMessage({ data: Buffer.from('{"hello":1}'), attributes: { type: "data.prepared" } });
    const got = await eventually(() => h.seen().find((s) => s.id === messageId), 20_000, "the CloudEvent");
    expect(got).toMatchObject({
      fn: "advance-run",
      type: "google.cloud.pubsub.topic.v1.messagePublished",
      source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/${topic}`,
      data: {
        message: { messageId, attributes: { type: "data.prepared" } },
        subscription: `projects/${PROJECT}/subscriptions/${topic}--advance-run`,
      },
    });
    expect(Buffer.from(got.data.message!.data, "base64").toString()).toBe('{"hello":1}');
    expect(Date.parse(got.data.message!.publishTime)).not.toBeNaN();
  });

  it("delivers the bucket's notification of an upload under uploads/ to start-run, and nothing for other objects", async () => {
    const storage = new Storage({
      apiEndpoint: h.stack.info.endpoints.storage,
      projectId: PROJECT,
      useAuthWithCustomEndpoint: false,
    });
    const name = `uploads/${uniqueName("reviews")}.jsonl`;
    const other = `runs/${uniqueName("not-an-upload")}.json`;
    await storage.bucket("local-bucket").file(other).save("{}");
    await storage.bucket("local-bucket").file(name).save('{"rating":5}\n');
    const topic = topicId("uploadNotifications", h.prefix);
    const got = await eventually(
      () => h.seen().find((s) => s.data.message?.attributes?.objectId === name),
      20_000,
      "the notification",
    );
    // Cloud Storage's Pub/Sub notification (payload JSON_API_V1), as a push subscription delivers it.
    expect(got).toMatchObject({
      fn: "start-run",
      type: "google.cloud.pubsub.topic.v1.messagePublished",
      source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/${topic}`,
      data: {
        message: {
          attributes: {
            bucketId: "local-bucket",
            objectId: name,
            eventType: "OBJECT_FINALIZE",
            payloadFormat: "JSON_API_V1",
          },
        },
        subscription: `projects/${PROJECT}/subscriptions/${topic}--start-run`,
      },
    });
    const attributes = ObjectNotificationAttributes.parse(got.data.message!.attributes);
    const resource = ObjectResource.parse(
      JSON.parse(Buffer.from(got.data.message!.data, "base64").toString("utf8")),
    );
    expect(resource).toMatchObject({ bucket: "local-bucket", name, generation: attributes.objectGeneration });
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.seen().some((s) => JSON.stringify(s.data).includes(other))).toBe(false);
    expect(h.seen().filter((s) => s.fn === "start-run")).toHaveLength(1);
  });

  it("redelivers a message its function keeps failing, then keeps it on the topic's dead-letter topic", async () => {
    const topic = topicId("jobFailed", h.prefix);
    const dead = deadLetterTopicId("jobFailed", h.prefix);
    const keep = h.pubsub.subscription(keepSubscription(dead));
    const arrived = new Promise<Message>((resolveMessage) => {
      keep.on("message", (m: Message) => {
        m.ack();
        if (m.data.toString() === "poison") resolveMessage(m);
      });
    });
    const messageId = await h.pubsub
      .topic(topic)
      .publishMessage({ data: Buffer.from("poison"), attributes: { fail: "always" } });
    const m = await arrived;
    await keep.close();
    expect(m.attributes.CloudPubSubDeadLetterSourceDeliveryCount).toBe("5");
    expect(h.seen().filter((s) => s.id === messageId)).toHaveLength(5);
  }, 90_000);

  it("delivers every message twice, out of order, when chaos is on", async () => {
    const relay = h.stack.info.endpoints.relay!;
    await fetch(`${relay}/admin/chaos`, {
      method: "POST",
      body: JSON.stringify({ duplicate: true, maxDelayMs: 300 }),
    });
    try {
      const topic = h.pubsub.topic(topicId("evaluationCompleted", h.prefix));
      const ids = await Promise.all(
        Array.from({ length: 6 }, (_, i) => topic.publishMessage({ data: Buffer.from(String(i)) })),
      );
      await eventually(
        () => ids.every((id) => h.seen().filter((s) => s.id === id).length === 2),
        20_000,
        "two copies of each",
      );
      const order = h
        .seen()
        .filter((s) => ids.includes(s.id))
        .map((s) => s.id);
      // Six messages, twelve deliveries: with copies delayed at random the arrival order is not the publish order twice over.
      expect(order).not.toEqual([...ids, ...ids]);
      expect(order).toHaveLength(12);
    } finally {
      await fetch(`${relay}/admin/chaos`, {
        method: "POST",
        body: JSON.stringify({ duplicate: false, maxDelayMs: 0 }),
      });
    }
  });

  it("restarts a function host that died, and delivery resumes", async () => {
    const piece = h.stack.info.pieces.find((p) => p.name === "fn-advance-run")!;
    process.kill(-piece.pid, "SIGKILL");
    const topic = topicId("tuningCompleted", h.prefix);
    const messageId = await h.pubsub.topic(topic).publishMessage({ data: Buffer.from("after-restart") });
    await eventually(() => h.seen().find((s) => s.id === messageId), 45_000, "delivery after the restart");
  }, 60_000);
});

describe.skipIf(missing !== null || pstestMissing())("triggers over pstest, pulled by the relay", () => {
  it("delivers the same CloudEvents when the relay pulls from Google's Go fake", async () => {
    const h = await harness("pstest", { pubsub: "pstest" });
    try {
      expect(h.stack.info).toMatchObject({ pubsubImplementation: "pstest", delivery: "pull" });
      const topic = topicId("runStarted", h.prefix);
      const messageId = await h.pubsub
        .topic(topic)
        .publishMessage({ data: Buffer.from("x"), attributes: { type: "run.started" } });
      const got = await eventually(
        () => h.seen().find((s) => s.id === messageId),
        20_000,
        "the pulled CloudEvent",
      );
      expect(got).toMatchObject({
        fn: "advance-run",
        type: "google.cloud.pubsub.topic.v1.messagePublished",
        source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/${topic}`,
      });
    } finally {
      await h.pubsub.close();
      await h.stack.stop();
    }
  }, 180_000);
});
