// The Cloud Storage and Pub/Sub adapters against the emulators: generations, conditional writes, streams, publish and consume.
import { randomBytes } from "node:crypto";
import { text } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { PubSub, type Message } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEvent, decodeEvent } from "../../events/codec.ts";
import { deadLetterTopicId, topicId } from "../../events/topics.ts";
import { GcsObjectStore } from "../../platform/gcp/gcs-object-store.ts";
import { PubSubEventBus, pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";
import { NotFoundError, PreconditionFailedError } from "../../platform/ports/object-store.ts";
import type { StackHandle } from "../../emulator/stack/client.ts";
import { emulatorsMissing, startEmulators, uniqueName } from "./emulators.ts";

const missing = emulatorsMissing();
const PROJECT = "local-project";
let stack: StackHandle;
let store: GcsObjectStore;
let pubsub: PubSub;
const prefix = `${uniqueName("t")}-`;

describe.skipIf(missing !== null)("adapters over the emulators", () => {
  beforeAll(async () => {
    // Topics come from the registry under a prefix of this file's own.
    stack = await startEmulators({ name: "adapters", env: { TOPIC_PREFIX: prefix } });
    store = new GcsObjectStore({
      bucket: "local-bucket",
      projectId: PROJECT,
      apiEndpoint: stack.info.endpoints.storage,
    });
    pubsub = new PubSub(pubsubClientOptions(PROJECT, stack.info.endpoints.pubsub));
  }, 120_000);

  afterAll(async () => {
    await pubsub?.close();
    await stack?.stop();
  }, 60_000);

  describe("GcsObjectStore", () => {
    const uri = (name: string): string => `gs://local-bucket/${uniqueName("obj")}/${name}`;

    it("writes, reads and stats an object, with a string generation that changes on every write", async () => {
      const u = uri("a.json");
      const first = await store.write(u, '{"a":1}', { contentType: "application/json" });
      expect(first.generation).toMatch(/^\d+$/);
      expect(first.size).toBe(7);
      expect((await store.read(u)).toString()).toBe('{"a":1}');
      const second = await store.write(u, '{"a":2}');
      expect(second.generation).not.toBe(first.generation);
      expect((await store.stat(u))?.generation).toBe(second.generation);
    });

    it("creates with ifGenerationMatch 0 only when the object does not exist", async () => {
      const u = uri("create-once");
      await store.write(u, "one", { ifGenerationMatch: "0" });
      await expect(store.write(u, "two", { ifGenerationMatch: "0" })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      expect((await store.read(u)).toString()).toBe("one");
    });

    it("replaces only at the expected generation, so one of many concurrent writers wins", async () => {
      const u = uri("cas");
      const base = await store.write(u, "base");
      await expect(
        store.write(u, "stale", { ifGenerationMatch: String(Number(base.generation) - 1) }),
      ).rejects.toBeInstanceOf(PreconditionFailedError);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.write(u, `writer-${i}`, { ifGenerationMatch: base.generation }),
        ),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
      const winner = (await store.read(u)).toString();
      expect(winner).toMatch(/^writer-\d$/);
    });

    it("says what is missing: null from stat, NotFoundError from read, nothing from delete", async () => {
      const u = uri("absent");
      expect(await store.stat(u)).toBeNull();
      await expect(store.read(u)).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.delete(u)).resolves.toBeUndefined();
    });

    it("lists the objects under a prefix, sorted, and forgets deleted ones", async () => {
      const dir = `gs://local-bucket/${uniqueName("list")}`;
      for (const n of ["b/2", "a", "b/1", "c"]) await store.write(`${dir}/${n}`, n);
      await store.write(`${dir}-sibling/x`, "x");
      expect(await store.list(`${dir}/`)).toEqual([`${dir}/a`, `${dir}/b/1`, `${dir}/b/2`, `${dir}/c`]);
      await store.delete(`${dir}/a`);
      expect(await store.list(`${dir}/b/`)).toEqual([`${dir}/b/1`, `${dir}/b/2`]);
      expect(await store.list(`${dir}/`)).toHaveLength(3);
    });

    it("streams a large object in and out unchanged, visible only once the write stream finished", async () => {
      const u = uri("big.bin");
      const data = randomBytes(6 * 1024 * 1024);
      const out = store.createWriteStream(u, { contentType: "application/octet-stream" });
      const chunks = Array.from({ length: 24 }, (_, i) => data.subarray(i * 262_144, (i + 1) * 262_144));
      const source = Readable.from(chunks);
      const done = pipeline(source, out);
      expect(await store.stat(u)).toBeNull();
      await done;
      expect((await store.stat(u))?.size).toBe(data.length);
      const back: Buffer[] = [];
      for await (const c of store.createReadStream(u)) back.push(c as Buffer);
      expect(Buffer.concat(back).equals(data)).toBe(true);
    });

    it("fails a read stream of a missing object with NotFound", async () => {
      await expect(text(store.createReadStream(uri("nope")))).rejects.toMatchObject({ code: 404 });
    });
  });

  describe("PubSubEventBus", () => {
    async function collect(topic: string, count: number, timeoutMs = 20_000): Promise<Message[]> {
      const [sub] = await pubsub.topic(topic).createSubscription(uniqueName("sub"));
      const got: Message[] = [];
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          void sub.close();
          reject(new Error(`got ${got.length} of ${count} messages on ${topic}`));
        }, timeoutMs);
        sub.on("message", (m: Message) => {
          m.ack();
          got.push(m);
          if (got.length === count) {
            clearTimeout(timer);
            void sub.close().then(() => resolve(got));
          }
        });
      });
    }

    it("publishes each event to the topic the registry names, with type, run and event id as attributes", async () => {
      const bus = new PubSubEventBus({
        projectId: PROJECT,
        topicPrefix: prefix,
        emulatorHost: stack.info.endpoints.pubsub,
      });
      const event = makeEvent(
        "run.started",
        { runId: "adapter-run-1", attempt: 1 },
        {
          source: { bucket: "local-bucket", name: "uploads/x.jsonl", generation: "1" },
          input: "gs://local-bucket/uploads/x.jsonl",
        },
      );
      const arriving = collect(topicId("runStarted", prefix), 1);
      await new Promise((r) => setTimeout(r, 300));
      const id = await bus.publish(event);
      const [m] = await arriving;
      expect(m!.id).toBe(id);
      expect(m!.attributes).toEqual({ type: "run.started", runId: "adapter-run-1", eventId: event.id });
      expect(decodeEvent(m!.data)).toEqual(event);
      await bus.close();
    });

    it("delivers every one of many concurrent publishes, each once to a subscriber that acks", async () => {
      const bus = new PubSubEventBus({
        projectId: PROJECT,
        topicPrefix: prefix,
        emulatorHost: stack.info.endpoints.pubsub,
      });
      const arriving = collect(topicId("jobProgress", prefix), 40);
      await new Promise((r) => setTimeout(r, 300));
      const events = Array.from({ length: 40 }, (_, i) =>
        makeEvent(
          "job.progress",
          { runId: "adapter-run-2", attempt: 1 },
          { step: "train", unit: "batch", current: i, total: 40 },
        ),
      );
      await Promise.all(events.map((e) => bus.publish(e)));
      const got = await arriving;
      expect(new Set(got.map((m) => decodeEvent(m.data).id))).toEqual(new Set(events.map((e) => e.id)));
      await bus.close();
    });

    it("publishes raw bytes to a dead-letter topic", async () => {
      const bus = new PubSubEventBus({
        projectId: PROJECT,
        topicPrefix: prefix,
        emulatorHost: stack.info.endpoints.pubsub,
      });
      const arriving = collect(deadLetterTopicId("dataPrepared", prefix), 1);
      await new Promise((r) => setTimeout(r, 300));
      await bus.publishRaw(
        { deadLetterOf: "dataPrepared" },
        { data: Buffer.from("not json"), attributes: { reason: "test" } },
      );
      const [m] = await arriving;
      expect(m!.data.toString()).toBe("not json");
      expect(m!.attributes.reason).toBe("test");
      await bus.close();
    });

    it("rejects a publish to a topic that does not exist instead of losing the event", async () => {
      const bus = new PubSubEventBus({
        projectId: PROJECT,
        topicPrefix: "no-such-prefix-",
        emulatorHost: stack.info.endpoints.pubsub,
      });
      const event = makeEvent(
        "job.progress",
        { runId: "adapter-run-3", attempt: 1 },
        { step: "train", unit: "epoch", current: 1, total: 2 },
      );
      await expect(bus.publish(event)).rejects.toMatchObject({ code: 5 });
      await bus.close();
    });
  });
});
