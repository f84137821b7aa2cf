// Dead letters stay in their folder (issue 13, item 4): a push whose source ends in `topics/..` is kept under the
// function's own folder, the sinks refuse a source that is not a topic id, and a letter that cannot be kept is logged
// at ERROR and acknowledged instead of answering 500 for ever.
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { registerFunctions, ENTRY_POINTS } from "../../functions/register.ts";
import { topicOf } from "../../functions/handler.ts";
import { PubSubDeadLetterSink } from "../../platform/gcp/pubsub-dead-letters.ts";
import {
  UnkeepableLetterError,
  type DeadLetter,
  type DeadLetterSink,
} from "../../platform/ports/dead-letters.ts";
import { LocalDeadLetterSink } from "../../platform/local/local-dead-letters.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { MemoryRunLedger } from "../../platform/local/memory-run-ledger.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryRegistry, RecordingBus, RecordingLauncher } from "../support/fakes.ts";
import { post, pubsubPush } from "../support/cloud-events.ts";

const config = parseConfig({ runtime: { bucket: "reviews-bucket", projectId: "test-project" } });
let n = 0;

function advanceRun(deadLetters: DeadLetterSink, store = new LocalObjectStore("reviews-bucket", scratch())) {
  const prefix = `dl${++n}_`;
  const log = new CapturingLogger();
  registerFunctions(
    {
      config,
      store,
      bus: new RecordingBus(),
      launcher: new RecordingLauncher(),
      ledger: new MemoryRunLedger(),
      registry: new MemoryRegistry(),
      log,
      deadLetters,
      clock: { now: () => new Date("2026-05-01T00:00:00Z") },
    },
    prefix,
  );
  return { server: getTestServer(`${prefix}${ENTRY_POINTS["advance-run"]}`), log };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "sp-dl-"));
}

function letter(source: string): DeadLetter {
  return {
    source,
    messageId: "m-1",
    data: Buffer.from("{"),
    attributes: {},
    reason: "not JSON",
    receivedAt: "2026-05-01T00:00:00.000Z",
  };
}

describe("a push whose source climbs out of the topics", () => {
  it.each(["..", ".", "%2e%2e", "goog-secret", "a"])(
    "is kept under the function's folder by the local sink (topics/%s)",
    async (topic) => {
      const parent = scratch();
      const root = join(parent, "dead-letters");
      const { server, log } = advanceRun(new LocalDeadLetterSink(root));
      expect(await post(server, pubsubPush("{", {}, topic))).toBe(204);
      expect(readdirSync(parent)).toEqual(["dead-letters"]);
      expect(readdirSync(root)).toEqual(["advance-run"]);
      expect(readdirSync(join(root, "advance-run"))).toHaveLength(1);
      expect(log.at("ERROR")).toHaveLength(1);
    },
  );

  it("is kept in the bucket's dead-letters/advance-run/ by the cloud sink, and acknowledged", async () => {
    const dir = scratch();
    const store = new LocalObjectStore("reviews-bucket", dir);
    const { server } = advanceRun(new PubSubDeadLetterSink(new RecordingBus(), store), store);
    expect(await post(server, pubsubPush("{", {}, ".."))).toBe(204);
    const kept = await store.list("gs://reviews-bucket/dead-letters/");
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(
      /^gs:\/\/reviews-bucket\/dead-letters\/advance-run\/2026-05-01T00_00_00\.000Z-[\w-]+\.json$/,
    );
  });

  it("names no topic, so no dead-letter topic is picked from it", () => {
    const at = (topic: string) => ({ source: `//pubsub.googleapis.com/projects/p/topics/${topic}` });
    expect(topicOf(at(".."))).toBeNull();
    expect(topicOf(at("goog-x"))).toBeNull();
    expect(topicOf(at("ab"))).toBeNull();
    expect(topicOf(at("data-prepared"))).toBe("data-prepared");
    expect(topicOf(at("a..b~c+d%e"))).toBe("a..b~c+d%e");
  });
});

describe("the sinks", () => {
  it.each(["..", "../etc", "a/b", "", "goog", "x".repeat(256)])(
    "refuse a source that is not a topic id (%j) before it becomes a path",
    async (source) => {
      const parent = scratch();
      await expect(new LocalDeadLetterSink(join(parent, "dl")).keep(letter(source))).rejects.toBeInstanceOf(
        UnkeepableLetterError,
      );
      expect(readdirSync(parent)).toEqual([]);
      const store = new LocalObjectStore("reviews-bucket", parent);
      await expect(
        new PubSubDeadLetterSink(new RecordingBus(), store).keep(letter(source)),
      ).rejects.toBeInstanceOf(UnkeepableLetterError);
      expect(existsSync(join(parent, "dead-letters"))).toBe(false);
    },
  );

  it("keep a hostile message id inside the source's folder", async () => {
    const root = join(scratch(), "dl");
    await new LocalDeadLetterSink(root).keep({ ...letter("start-run"), messageId: "../../../etc/passwd" });
    expect(readdirSync(join(root, "start-run"))).toEqual([
      "2026-05-01T00-00-00-000Z-.._.._.._etc_passwd.json",
    ]);
  });
});

describe("a letter that cannot be kept", () => {
  it("is logged at ERROR and acknowledged", async () => {
    const refusing: DeadLetterSink = {
      keep: () => Promise.reject(new UnkeepableLetterError("no folder for it")),
    };
    const { server, log } = advanceRun(refusing);
    expect(await post(server, pubsubPush("{", {}, "data-prepared"))).toBe(204);
    const errors = log.at("ERROR");
    expect(errors).toHaveLength(2);
    expect(errors[1]!.message).toMatch(/cannot be kept as a dead letter \(no folder for it\); acknowledged/);
  });

  it("is redelivered (500) when the sink's storage fails, which may pass", async () => {
    const down: DeadLetterSink = { keep: () => Promise.reject(new Error("storage unavailable")) };
    const { server } = advanceRun(down);
    expect(await post(server, pubsubPush("{", {}, "data-prepared"))).toBe(500);
  });
});
