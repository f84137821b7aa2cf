// Drives the pipeline on a running stack from outside, as a user would: upload, watch events, read run state, inject faults.
import { PubSub, type Message, type Subscription } from "@google-cloud/pubsub";
import { Storage } from "@google-cloud/storage";
import type { RunState } from "../../schemas/run-state.ts";
import { decodeEvent } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { TOPIC_KEYS, topicId } from "../../events/topics.ts";
import { GcsObjectStore } from "../../platform/gcp/gcs-object-store.ts";
import { ObjectStoreRunLedger } from "../../platform/gcp/object-store-run-ledger.ts";
import { pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";
import { deriveRunId } from "../../functions/start-run.ts";
import type { StackInfo } from "./stack.ts";
import type { Chaos, Delivery } from "./relay.ts";

export interface VertexJobSummary {
  id: string;
  name: string;
  displayName: string;
  state: string;
  labels: Record<string, string>;
  error: string | null;
}

export class PipelineClient {
  readonly projectId: string;
  readonly bucket: string;
  readonly topicPrefix: string;
  readonly storage: Storage;
  readonly store: GcsObjectStore;
  readonly ledger: ObjectStoreRunLedger;
  readonly pubsub: PubSub;
  private readonly watchers: Subscription[] = [];

  constructor(readonly info: StackInfo) {
    this.projectId = info.env.GOOGLE_CLOUD_PROJECT ?? "local-project";
    this.bucket = info.env.BUCKET ?? "local-bucket";
    this.topicPrefix = info.env.TOPIC_PREFIX ?? "";
    this.storage = new Storage({
      apiEndpoint: info.endpoints.storage,
      projectId: this.projectId,
      useAuthWithCustomEndpoint: false,
    });
    this.store = new GcsObjectStore({ bucket: this.bucket, storage: this.storage });
    this.ledger = new ObjectStoreRunLedger(this.store);
    this.pubsub = new PubSub(pubsubClientOptions(this.projectId, info.endpoints.pubsub));
  }

  /**
   * Uploads under uploads/ (which starts a run) and returns the run id start-run derives from the object. `metadata` is
   * the object's custom metadata, set through the Cloud Storage API as gcloud's --custom-metadata does (`model-line`
   * names the run's model line); the emulator's notification carries it in its payload.
   */
  async upload(
    data: Buffer | string,
    fileName: string,
    options: { metadata?: Record<string, string> } = {},
  ): Promise<{ runId: string; objectName: string; generation: string }> {
    const objectName = `uploads/${fileName}`;
    const file = this.storage.bucket(this.bucket).file(objectName);
    await file.save(data, {
      resumable: false,
      contentType: "application/octet-stream",
      ...(options.metadata ? { metadata: { metadata: options.metadata } } : {}),
    });
    const [meta] = await file.getMetadata();
    const generation = String(meta.generation);
    return { runId: deriveRunId(this.bucket, objectName, generation), objectName, generation };
  }

  async runState(runId: string): Promise<RunState | null> {
    return (await this.ledger.get(runId))?.state ?? null;
  }

  /** Polls the run's state document until the run completed; `onChange` sees every new generation. */
  async waitForRun(
    runId: string,
    options: { timeoutMs?: number; onChange?: (state: RunState) => void } = {},
  ): Promise<RunState> {
    const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
    let seen = "";
    for (;;) {
      let versioned: Awaited<ReturnType<ObjectStoreRunLedger["get"]>>;
      try {
        versioned = await this.ledger.get(runId);
      } catch (err) {
        // A poll that fails (a connection reset by a loaded emulator) is retried until the deadline: one read is not
        // the run's outcome.
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (versioned && versioned.generation !== seen) {
        seen = versioned.generation;
        options.onChange?.(versioned.state);
        if (versioned.state.status === "completed") return versioned.state;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `run ${runId} did not complete in ${Math.round((options.timeoutMs ?? 0) / 1000)} s (state: ${versioned?.state.currentStep ?? "none yet"})`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Calls `onEvent` for every pipeline event on the registry's topics from now on (its own subscriptions, removed by
   * close()). Messages that are not events are passed as null with their topic.
   */
  async watchEvents(
    onEvent: (event: PipelineEvent | null, topic: string, message: Message) => void,
  ): Promise<void> {
    const tag = `watch-${process.pid}-${Date.now().toString(36)}`;
    await Promise.all(
      TOPIC_KEYS.map(async (key) => {
        const topic = topicId(key, this.topicPrefix);
        const [sub] = await this.pubsub.topic(topic).createSubscription(`${topic}--${tag}`);
        sub.on("message", (m: Message) => {
          m.ack();
          let event: PipelineEvent | null = null;
          try {
            event = decodeEvent(m.data);
          } catch {
            // job-state entries and malformed messages are not pipeline events
          }
          onEvent(event, topic, m);
        });
        this.watchers.push(sub);
      }),
    );
  }

  async vertexJobs(): Promise<{ jobs: VertexJobSummary[]; createCalls: Record<string, number> }> {
    return (await this.admin("GET", "/jobs")) as {
      jobs: VertexJobSummary[];
      createCalls: Record<string, number>;
    };
  }

  /** Fault injection on a Vertex job, by id or display name. */
  async preempt(job: string): Promise<void> {
    await this.admin("POST", `/jobs/${encodeURIComponent(job)}:preempt`);
  }

  async kill(job: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.admin("POST", `/jobs/${encodeURIComponent(job)}:kill?signal=${signal}`);
  }

  async setChaos(chaos: Chaos): Promise<void> {
    await this.relay("POST", "/admin/chaos", chaos);
  }

  async deliveries(): Promise<Delivery[]> {
    return ((await this.relay("GET", "/admin/deliveries")) as { deliveries: Delivery[] }).deliveries;
  }

  async clearDeliveries(): Promise<void> {
    await this.relay("DELETE", "/admin/deliveries");
  }

  async close(): Promise<void> {
    await Promise.all(this.watchers.map((s) => s.delete().catch(() => undefined)));
    await this.pubsub.close();
  }

  private async admin(method: string, path: string): Promise<unknown> {
    if (!this.info.endpoints.vertexAdmin) throw new Error("this stack runs without the Vertex AI stand-in");
    return call(method, `${this.info.endpoints.vertexAdmin}${path}`);
  }

  private async relay(method: string, path: string, body?: unknown): Promise<unknown> {
    if (!this.info.endpoints.relay) throw new Error("this stack runs without the relay (no functions)");
    return call(method, `${this.info.endpoints.relay}${path}`, body);
  }
}

async function call(method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : null;
}
