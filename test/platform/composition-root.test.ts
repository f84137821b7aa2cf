// The composition root picks the adapters each mode needs, and dead letters land on the right dead-letter topic.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createEmbeddedAdapters,
  createFunctionDeps,
  createModelRegistry,
  createObjectStore,
  createRunLedger,
} from "../../platform/composition-root.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { PubSubEventBus } from "../../platform/gcp/pubsub-event-bus.ts";
import { GcsObjectStore } from "../../platform/gcp/gcs-object-store.ts";
import { ObjectStoreRunLedger } from "../../platform/gcp/object-store-run-ledger.ts";
import { VertexJobLauncher } from "../../platform/gcp/vertex-job-launcher.ts";
import { VertexModelRegistry } from "../../platform/gcp/vertex-model-registry.ts";
import { PubSubDeadLetterSink } from "../../platform/gcp/pubsub-dead-letters.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { LocalModelRegistry } from "../../platform/local/local-model-registry.ts";
import { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";
import { LocalDeadLetterSink } from "../../platform/local/local-dead-letters.ts";
import { RecordingBus } from "../support/fakes.ts";

const emulators = parseConfig({
  runtime: {
    mode: "emulators",
    bucket: "reviews-bucket",
    projectId: "test-project",
    storageEmulatorEndpoint: "http://127.0.0.1:9",
    pubsubEmulatorHost: "127.0.0.1:9",
    vertexEndpoint: "127.0.0.1:9",
  },
});

describe("composition root", () => {
  it("wires Cloud Storage, Pub/Sub and Vertex AI adapters outside embedded mode", async () => {
    const deps = createFunctionDeps(emulators, {
      SP_JOB_SERVICE_ACCOUNTS: JSON.stringify({ train: "sp-job-train@test-project.iam.gserviceaccount.com" }),
    });
    expect(deps.store).toBeInstanceOf(GcsObjectStore);
    expect(deps.bus).toBeInstanceOf(PubSubEventBus);
    expect(deps.ledger).toBeInstanceOf(ObjectStoreRunLedger);
    expect(deps.launcher).toBeInstanceOf(VertexJobLauncher);
    expect(deps.registry).toBeInstanceOf(VertexModelRegistry);
    expect(deps.deadLetters).toBeInstanceOf(PubSubDeadLetterSink);
    await (deps.bus as PubSubEventBus).close();
  });

  it("refuses job service accounts that are not emails, naming the step", () => {
    expect(() =>
      createFunctionDeps(emulators, { SP_JOB_SERVICE_ACCOUNTS: JSON.stringify({ train: "nobody" }) }),
    ).toThrow(/train/);
  });

  it("uses the local folder and registry in embedded mode and refuses function wiring there", () => {
    const embedded = parseConfig({ runtime: { localRoot: mkdtempSync(join(tmpdir(), "sp-cr-")) } });
    expect(createObjectStore(embedded)).toBeInstanceOf(LocalObjectStore);
    expect(createModelRegistry(embedded)).toBeInstanceOf(LocalModelRegistry);
    expect(() => createFunctionDeps(embedded)).toThrow(/EmbeddedRuntime/);
  });

  it("wires the embedded stores as folders under the local root, the dead letters beside the bucket", async () => {
    const localRoot = mkdtempSync(join(tmpdir(), "sp-cr-"));
    const embedded = parseConfig({ runtime: { localRoot } });
    const local = createEmbeddedAdapters(embedded);
    expect(local.store).toBeInstanceOf(LocalObjectStore);
    expect(local.ledger).toBeInstanceOf(LocalRunLedger);
    expect(local.registry).toBeInstanceOf(LocalModelRegistry);
    expect(local.deadLetters).toBeInstanceOf(LocalDeadLetterSink);
    expect(createRunLedger(embedded, local.store)).toBeInstanceOf(LocalRunLedger);
    await local.deadLetters.keep({
      source: "start-run",
      messageId: "m1",
      data: Buffer.from("{oops"),
      attributes: {},
      reason: "message is not JSON",
      receivedAt: "2026-05-01T00:00:00.000Z",
    });
    expect(readdirSync(join(localRoot, "dead-letters", "start-run"))).toHaveLength(1);
    expect(() => createEmbeddedAdapters(emulators)).toThrow(/embedded/);
  });

  it("keeps the run ledger in the bucket outside embedded mode", () => {
    expect(createRunLedger(emulators, createObjectStore(emulators))).toBeInstanceOf(ObjectStoreRunLedger);
  });

  it("says which variable is missing when emulators mode lacks the storage emulator", () => {
    expect(() => createObjectStore(parseConfig({ runtime: { mode: "emulators" } }))).toThrow(
      /STORAGE_EMULATOR_ENDPOINT/,
    );
  });
});

describe("Pub/Sub dead-letter sink", () => {
  const letter = (source: string) => ({
    source,
    messageId: "m1",
    data: Buffer.from("{oops"),
    attributes: { a: "b" },
    reason: "message is not JSON",
    receivedAt: "2026-05-01T00:00:00.000Z",
  });

  it("publishes a message from a registry topic to that topic's dead-letter topic with the reason", async () => {
    const bus = new RecordingBus();
    const sink = new PubSubDeadLetterSink(
      bus,
      new LocalObjectStore("b-bucket", mkdtempSync(join(tmpdir(), "sp-dl-"))),
      "dev-",
    );
    await sink.keep(letter("dev-training-completed"));
    expect(bus.raw[0]!.topic).toEqual({ deadLetterOf: "trainingCompleted" });
    expect(bus.raw[0]!.message.attributes).toMatchObject({
      a: "b",
      deadLetterReason: "message is not JSON",
      sourceMessageId: "m1",
    });
  });

  it("keeps a storage trigger's message in the bucket, which has no dead-letter topic", async () => {
    const store = new LocalObjectStore("b-bucket", mkdtempSync(join(tmpdir(), "sp-dl-")));
    await new PubSubDeadLetterSink(new RecordingBus(), store).keep(letter("start-run"));
    const [uri] = await store.list("gs://b-bucket/dead-letters/");
    expect(uri).toMatch(/^gs:\/\/b-bucket\/dead-letters\/start-run\/.*-m1\.json$/);
    expect(JSON.parse((await store.read(uri!)).toString())).toMatchObject({
      reason: "message is not JSON",
      data: "{oops",
    });
  });
});
