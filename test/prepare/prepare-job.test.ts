// The prepare job through the shared job runtime, with the embedded bucket and an outbox: it writes the run's data
// folder and publishes a valid data.prepared, or fails the run with job.failed (not retryable) and the reason.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../schemas/load-config.ts";
import { PrepareJobInput } from "../../schemas/job-input.ts";
import { PreparedReview, PreparedStats } from "../../schemas/review.ts";
import { decodeEvent } from "../../events/codec.ts";
import { DataPrepared } from "../../events/catalogue.ts";
import { runJob } from "../../gpu-jobs/common/job-runtime.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { prepareJob } from "../../gpu-jobs/prepare/job.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { OutboxEventBus } from "../../platform/local/outbox-event-bus.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { jsonl, reviews } from "./helpers.ts";

const BUCKET = "local-bucket";
const RUN_DIR = `gs://${BUCKET}/runs/prep-job-test`;
const OUT_DIR = `${RUN_DIR}/prepare/a1`;
const roots: string[] = [];

afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

async function runPrepare(name: string, content: string | Buffer, inputUri?: string) {
  const root = mkdtempSync(join(tmpdir(), "sp-prepare-job-"));
  roots.push(root);
  const store = new LocalObjectStore(BUCKET, join(root, "bucket"));
  const outbox = join(root, "outbox.jsonl");
  const log = new CapturingLogger();
  const config = parseConfig({ runtime: { localRoot: root } });
  const upload = `gs://${BUCKET}/uploads/${name}`;
  await store.write(upload, content);
  const input = PrepareJobInput.parse({
    step: "prepare",
    runId: "prep-job-test",
    attempt: 1,
    correlationId: "corr-prep",
    runDir: RUN_DIR,
    outDir: OUT_DIR,
    input: inputUri ?? upload,
    sliceColumns: config.rules.sliceColumns,
    data: config.data,
  });
  const code = await runJob("prepare", inputToArgs(input).slice(1), prepareJob, {
    config,
    store,
    bus: new OutboxEventBus(outbox),
    log,
    env: {},
  });
  const events = readFileSync(outbox, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => decodeEvent(l));
  return { code, store, events, log };
}

describe("the prepare job", () => {
  it("writes the splits, stats and rejected rows into the attempt folder and publishes data.prepared", async () => {
    const { code, store, events } = await runPrepare("reviews.jsonl", jsonl([...reviews(50), "{broken"]));
    expect(code).toBe(0);
    const prepared = events.filter((e) => e.type === "data.prepared");
    expect(prepared).toHaveLength(1);
    const event = DataPrepared.parse(prepared[0]);
    expect(event).toMatchObject({ runId: "prep-job-test", attempt: 1, correlationId: "corr-prep" });
    expect(event.data).toMatchObject({
      dataDir: OUT_DIR,
      statsUri: `${OUT_DIR}/stats.json`,
      rejectedUri: `${OUT_DIR}/rejected.jsonl`,
      rowsRead: 51,
      rowsKept: 50,
      rowsRejected: 1,
    });
    const stats = PreparedStats.parse(JSON.parse((await store.read(event.data.statsUri)).toString("utf8")));
    expect(event.data.fingerprint).toBe(stats.fingerprint);
    for (const split of ["train", "validation", "test"] as const) {
      const ref = event.data.splits[split];
      expect(ref.uri).toBe(`${OUT_DIR}/${split}.jsonl`);
      const rows = (await store.read(ref.uri))
        .toString("utf8")
        .trim()
        .split("\n")
        .map((l) => PreparedReview.parse(JSON.parse(l)));
      expect(rows).toHaveLength(ref.rows);
      expect(ref.rows).toBe(stats.splits[split].rows);
    }
    expect((await store.read(event.data.rejectedUri)).toString("utf8")).toContain('"reason":"invalid_json"');
    const progress = events.filter((e) => e.type === "job.progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.data).toMatchObject({ step: "prepare", unit: "rows", current: 51, total: 51 });
  });

  it("fails the run without retry when nothing valid is left, after writing the rejected rows and stats", async () => {
    const { code, store, events, log } = await runPrepare(
      "bad.jsonl",
      jsonl(["{x", "[1]", JSON.stringify({ rating: 5 })]),
    );
    expect(code).toBe(3);
    expect(events.some((e) => e.type === "data.prepared")).toBe(false);
    const failed = events.find((e) => e.type === "job.failed");
    expect(failed?.data).toMatchObject({ step: "prepare", retryable: false });
    expect(failed?.type === "job.failed" && failed.data.error).toMatch(
      /no valid rows left \(read 3, kept 0, rejected 3: invalid_json 1, missing_text 1, not_an_object 1\)/,
    );
    expect(await store.stat(`${OUT_DIR}/rejected.jsonl`)).not.toBeNull();
    expect(await store.stat(`${OUT_DIR}/stats.json`)).not.toBeNull();
    expect(log.entries.some((e) => e.severity === "ERROR")).toBe(true);
  });

  it("fails the run without retry on an unknown format, naming the file", async () => {
    const { code, events } = await runPrepare("reviews.xlsx", Buffer.from([0x50, 0x4b, 3, 4, 0, 0]));
    expect(code).toBe(3);
    const failed = events.find((e) => e.type === "job.failed");
    expect(failed?.type === "job.failed" && failed.data.error).toMatch(/reviews\.xlsx: unknown format/);
  });

  it("fails the run without retry when the upload does not exist", async () => {
    const { code, events } = await runPrepare(
      "present.jsonl",
      jsonl(reviews(3)),
      `gs://${BUCKET}/uploads/missing.jsonl`,
    );
    expect(code).toBe(3);
    const failed = events.find((e) => e.type === "job.failed");
    expect(failed?.type === "job.failed" && failed.data.error).toBe(
      `input not found: gs://${BUCKET}/uploads/missing.jsonl`,
    );
  });

  it("never logs review text", async () => {
    const secret = "Zanzibar-unique-phrase";
    const rows = reviews(20).map((r, i) => (i === 3 ? { ...r, text: secret, rating: 11 } : r));
    const { code, log } = await runPrepare("quiet.jsonl", jsonl(rows));
    expect(code).toBe(0);
    expect(JSON.stringify(log.entries)).not.toContain(secret);
  });
});
