// Runs the evaluate job as its image would (arguments through runJob) over a scratch local bucket and registry.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { decodeEvent, encodeEvent } from "../../events/codec.ts";
import type { EventBus } from "../../platform/ports/event-bus.ts";
import type { ModelRegistry } from "../../platform/ports/model-registry.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { LocalModelRegistry } from "../../platform/local/local-model-registry.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineConfigInput } from "../../schemas/config.ts";
import { EvaluateJobInput } from "../../schemas/job-input.ts";
import { MetricsReport, SliceReport } from "../../schemas/metrics.ts";
import { runJob } from "../../gpu-jobs/common/job-runtime.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { makeEvaluateJob } from "../../gpu-jobs/evaluate/job.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { TINY_MODEL, TINY_SPLIT } from "../inference/model-fixture.ts";

export const BUCKET = "local-bucket";
export const RUN_ID = "reviews-eval-test";
/** The model line of the model under test. */
export const LINE = "tiny-3class";
export const RUN_DIR = `gs://${BUCKET}/runs/${RUN_ID}`;
export const DATA_DIR = `${RUN_DIR}/prepare/a1`;
export const MODEL_DIR = `${RUN_DIR}/train/a1/model`;
export const OUT_DIR = `${RUN_DIR}/evaluate/a1`;

/** Keeps every event after a round trip through the wire encoding, as a subscriber would get it. */
export class RecordingBus implements EventBus {
  readonly events: PipelineEvent[] = [];
  publish(event: PipelineEvent): Promise<string> {
    this.events.push(decodeEvent(encodeEvent(event).data));
    return Promise.resolve(event.id);
  }
  publishRaw(): Promise<string> {
    return Promise.reject(new Error("jobs publish pipeline events only"));
  }
  ofType<T extends PipelineEvent["type"]>(type: T): Extract<PipelineEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<PipelineEvent, { type: T }> => e.type === type);
  }
}

export class EvalWorld {
  readonly root = mkdtempSync(join(tmpdir(), "sp-eval-"));
  readonly store = new LocalObjectStore(BUCKET, join(this.root, "bucket"));
  readonly registry: ModelRegistry = new LocalModelRegistry(
    join(this.root, "registry"),
    "sentiment-classifier",
  );
  readonly bus = new RecordingBus();
  readonly log = new CapturingLogger();

  /** Puts the tiny model and split where a run would have them. */
  async seed(): Promise<void> {
    await this.copyFolder(TINY_MODEL, MODEL_DIR);
    for (const f of ["test.jsonl", "stats.json"])
      await this.store.write(`${DATA_DIR}/${f}`, readFileSync(join(TINY_SPLIT, f)));
  }

  async copyFolder(dir: string, uri: string): Promise<void> {
    for (const f of readdirSync(dir)) await this.store.write(`${uri}/${f}`, readFileSync(join(dir, f)));
  }

  /** A scratch local copy of a fixture folder. */
  localCopy(dir: string, name: string): string {
    const target = join(this.root, name);
    cpSync(dir, target, { recursive: true });
    return target;
  }

  input(overrides: Partial<EvaluateJobInput> = {}, config: PipelineConfigInput = {}): EvaluateJobInput {
    const cfg = parseConfig(config);
    return EvaluateJobInput.parse({
      step: "evaluate",
      runId: RUN_ID,
      attempt: 1,
      correlationId: "corr-1",
      runDir: RUN_DIR,
      outDir: OUT_DIR,
      dataDir: DATA_DIR,
      modelDir: MODEL_DIR,
      modelLine: LINE,
      rules: cfg.rules,
      // fp32 by default: these tests hold the job to numpy's forward pass of model.onnx (expected.json).
      evaluation: { ...cfg.evaluation, onnx: "fp32" },
      labels: cfg.data.labels,
      ...overrides,
    });
  }

  async run(input: EvaluateJobInput, registry: ModelRegistry | null = this.registry): Promise<number> {
    const config = parseConfig({ runtime: { localRoot: this.root } });
    const job = makeEvaluateJob({ registry: () => registry, env: { SP_EVAL_PROVIDER: "cpu" } });
    return runJob("evaluate", inputToArgs(input).slice(1), job, {
      config,
      store: this.store,
      bus: this.bus,
      log: this.log,
      env: {},
    });
  }

  async metrics(outDir = OUT_DIR): Promise<MetricsReport> {
    return MetricsReport.parse(
      JSON.parse((await this.store.read(`${outDir}/metrics.json`)).toString("utf8")),
    );
  }

  async slices(outDir = OUT_DIR): Promise<SliceReport> {
    return SliceReport.parse(JSON.parse((await this.store.read(`${outDir}/slices.json`)).toString("utf8")));
  }

  failure(): string {
    const failed = this.bus.ofType("job.failed");
    if (failed.length !== 1) throw new Error(`expected one job.failed, got ${failed.length}`);
    return failed[0]!.data.error;
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
