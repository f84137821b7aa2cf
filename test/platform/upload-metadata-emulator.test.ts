// Over fake-gcs-server and a Pub/Sub emulator: an upload's model-line custom metadata, set through the official Cloud
// Storage client, travels in the bucket notification's payload to start-run, as it does from a real bucket.
import type { Message, Subscription } from "@google-cloud/pubsub";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineClient } from "../../emulator/stack/pipeline-client.ts";
import { uploadNotificationTopic } from "../../emulator/stack/topology.ts";
import type { StackHandle } from "../../emulator/stack/client.ts";
import { makeStartRun } from "../../functions/start-run.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, RecordingBus } from "../support/fakes.ts";
import { pubsubPush } from "../support/cloud-events.ts";
import { emulatorsMissing, startEmulators, uniqueName } from "./emulators.ts";

const missing = emulatorsMissing();
let stack: StackHandle;
let client: PipelineClient;
let subscription: Subscription;
const received: Message[] = [];

/** The notification of one object, once fake-gcs-server has published it. */
async function notificationOf(objectName: string): Promise<Message> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = received.find((x) => x.attributes.objectId === objectName);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no notification of ${objectName} within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** start-run fed the notification as Eventarc pushes it; what it published and kept. */
async function startRunOn(message: Message) {
  const bus = new RecordingBus();
  const deadLetters = new MemoryDeadLetters();
  const config = parseConfig({ runtime: { bucket: client.bucket, projectId: client.projectId } });
  const handler = makeStartRun({
    config,
    bus,
    deadLetters,
    log: new CapturingLogger(),
    clock: { now: () => new Date() },
  });
  await handler(pubsubPush(message.data, message.attributes, "upload-notifications"));
  return { bus, deadLetters };
}

describe.skipIf(missing !== null)("an upload's model-line metadata through fake-gcs-server", () => {
  beforeAll(async () => {
    stack = await startEmulators({ name: "upload-line" });
    client = new PipelineClient(stack.info);
    const topic = uploadNotificationTopic(client.topicPrefix);
    [subscription] = await client.pubsub.topic(topic).createSubscription(`${topic}--${uniqueName("t")}`);
    subscription.on("message", (m: Message) => {
      m.ack();
      received.push(m);
    });
  }, 120_000);

  afterAll(async () => {
    await subscription?.delete().catch(() => undefined);
    await client?.close();
    await stack?.stop();
  }, 60_000);

  it("reaches run.started from the object's metadata, which the store reads back too", async () => {
    const { objectName } = await client.upload('{"rating":5}\n', `${uniqueName("books")}.jsonl`, {
      metadata: { "model-line": "books-3class" },
    });
    expect((await client.store.stat(`gs://${client.bucket}/${objectName}`))?.metadata).toEqual({
      "model-line": "books-3class",
    });
    const message = await notificationOf(objectName);
    expect(JSON.parse(message.data.toString("utf8"))).toMatchObject({
      metadata: { "model-line": "books-3class" },
    });
    const { bus, deadLetters } = await startRunOn(message);
    expect(deadLetters.kept).toEqual([]);
    expect(bus.ofType("run.started")[0]!.data.modelLine).toBe("books-3class");
  });

  it("rejects an upload written by the CLI's stream with a line that is not one, keeping why", async () => {
    const objectName = `uploads/${uniqueName("bad")}.jsonl`;
    await pipeline(
      Readable.from(['{"rating":5}\n']),
      client.store.createWriteStream(`gs://${client.bucket}/${objectName}`, {
        metadata: { "model-line": "Books 3" },
      }),
    );
    const { bus, deadLetters } = await startRunOn(await notificationOf(objectName));
    expect(bus.events).toEqual([]);
    expect(deadLetters.kept[0]!.reason).toContain(`upload gs://${client.bucket}/${objectName}#`);
    expect(deadLetters.kept[0]!.reason).toContain(
      'custom metadata "model-line" is "Books 3", not a model line',
    );
  });
});
