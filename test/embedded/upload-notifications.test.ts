// The upload path as deployed: a bucket notification limited to uploads/, a start-run that fails for good ends as a
// dead letter naming the upload.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../emulator/embedded/runtime.ts";
import { InProcessEventBus } from "../../emulator/embedded/in-process-event-bus.ts";
import { finalizeNotification } from "../../events/object-notification.ts";
import { makeStartRun } from "../../functions/start-run.ts";
import type { CloudEventLike } from "../../functions/cloud-event.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { MemoryDeadLetters, RecordingBus } from "../support/fakes.ts";

let runtime: EmbeddedRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

describe("the upload notification", () => {
  it("is published for objects finalized under uploads/ only, in Cloud Storage's message shape", async () => {
    const root = mkdtempSync(join(tmpdir(), "sp-notify-"));
    const config = parseConfig({ runtime: { mode: "embedded", localRoot: root } });
    // A job that does nothing: the run stays at prepare, which is all this test needs.
    runtime = new EmbeddedRuntime({ config, log: new CapturingLogger(), commandFor: () => ["true"] });
    const seen: CloudEventLike[] = [];
    runtime.bus.subscribe("uploadNotifications", {
      name: "recorder",
      handler: (e) => Promise.resolve(void seen.push(e)),
    });
    const bucket = config.runtime.bucket;
    await runtime.store.write(`gs://${bucket}/runs/some-run/state.json`, "{}");
    await runtime.store.write(`gs://${bucket}/runs/some-run/events/0001.json`, "{}");
    const { runId } = await runtime.upload(Buffer.from('{"rating":5}\n'), "reviews.jsonl");
    await runtime.settle();
    const messages = seen.map(
      (e) => (e.data as { message: { attributes: Record<string, string> } }).message.attributes,
    );
    expect(messages).toEqual([
      expect.objectContaining({
        bucketId: bucket,
        objectId: "uploads/reviews.jsonl",
        eventType: "OBJECT_FINALIZE",
        payloadFormat: "JSON_API_V1",
      }),
    ]);
    expect(await runtime.state(runId)).not.toBeNull();
  });

  it("ends as a dead letter that names the upload when start-run keeps failing", async () => {
    const deadLetters = new MemoryDeadLetters();
    const log = new CapturingLogger();
    const bus = new InProcessEventBus({ projectId: "p", deadLetters, log, retryDelayMs: 1 });
    const failing = new RecordingBus();
    failing.failNext = 1_000;
    const config = parseConfig({ runtime: { bucket: "b-bucket" } });
    const clock = { now: () => new Date() };
    bus.subscribe("uploadNotifications", {
      name: "start-run--uploadNotifications",
      handler: makeStartRun({ config, bus: failing, log, deadLetters, clock }),
    });
    const generation = "42";
    await bus.publishRaw(
      "uploadNotifications",
      finalizeNotification({
        bucket: "b-bucket",
        name: "uploads/r.jsonl",
        generation,
        size: 10,
        updated: new Date().toISOString(),
      }),
    );
    await bus.idle();
    expect(deadLetters.kept).toHaveLength(1);
    expect(deadLetters.kept[0]).toMatchObject({
      source: "upload-notifications",
      attributes: { bucketId: "b-bucket", objectId: "uploads/r.jsonl", objectGeneration: "42" },
      reason: expect.stringContaining("gs://b-bucket/uploads/r.jsonl#42"),
    });
  });
});
