// End to end with the real trainer: prepare real reviews, train `tiny`, export, evaluate the ONNX model here, and
// get the trainer's own PyTorch evaluation of the same test split.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../schemas/load-config.ts";
import { LABELS } from "../../schemas/names.ts";
import { PrepareJobInput, TrainJobInput } from "../../schemas/job-input.ts";
import { runJob } from "../../gpu-jobs/common/job-runtime.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { prepareJob } from "../../gpu-jobs/prepare/job.ts";
import { metricsOf } from "../../gpu-jobs/evaluate/metrics.ts";
import { REPO_ROOT, reviewsSample, trainerPython } from "../inference/python-env.ts";
import { BUCKET, EvalWorld, RUN_DIR } from "./job-harness.ts";

const TRAINER = join(REPO_ROOT, "gpu-jobs/trainer");
const trainerReady = [
  "sentiment_trainer/train.py",
  "sentiment_trainer/export.py",
  "sentiment_trainer/models.py",
].every((f) => existsSync(join(TRAINER, f)));
// Under CI a missing trainer is an error, not a skip: this suite is the one proof that its exports evaluate here.
if (!trainerReady && process.env.CI === "true") throw new Error("CI=true but gpu-jobs/trainer cannot train");
const python = trainerReady ? trainerPython() : { path: null, skip: "gpu-jobs/trainer cannot train yet" };
const sample = reviewsSample();
const skip = python.skip ?? sample.skip;

const ROWS = 900;
const MAX_LENGTH = 64;
const PARAMS = {
  modelFamily: "bert",
  learningRate: 1e-3,
  batchSize: 32,
  epochs: 2,
  weightDecay: 0.01,
  dropout: 0.1,
} as const;
const DATA_DIR = `${RUN_DIR}/prepare/a1`;
const TRAIN_OUT = `${RUN_DIR}/train/a1`;

describe.skipIf(skip !== null)(
  `evaluate job on a model the trainer exported${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let world: EvalWorld;
    let reference: {
      predictions: number[];
      margins: number[];
      summary: { accuracy: number; weightedF1: number; macroF1: number };
    };
    const trainerEnv = () => ({
      ...process.env,
      PIPELINE_MODE: "embedded",
      LOCAL_ROOT: world.root,
      BUCKET,
      SP_OUTBOX: join(world.root, "outbox.jsonl"),
    });

    beforeAll(async () => {
      world = new EvalWorld();
      const upload = readFileSync(sample.path!, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .slice(0, ROWS)
        .join("\n");
      await world.store.write(`gs://${BUCKET}/uploads/sample.jsonl`, `${upload}\n`);
      const config = parseConfig({ runtime: { localRoot: world.root } });
      const common = { runId: "reviews-eval-test", attempt: 1, correlationId: "corr-1", runDir: RUN_DIR };
      const prepare = PrepareJobInput.parse({
        ...common,
        step: "prepare",
        outDir: DATA_DIR,
        input: `gs://${BUCKET}/uploads/sample.jsonl`,
        sliceColumns: config.rules.sliceColumns,
        data: config.data,
      });
      const deps = { config, store: world.store, bus: world.bus, log: world.log, env: {} };
      expect(await runJob("prepare", inputToArgs(prepare).slice(1), prepareJob, deps)).toBe(0);

      const train = TrainJobInput.parse({
        ...common,
        step: "train",
        outDir: TRAIN_OUT,
        dataDir: DATA_DIR,
        models: { bert: "tiny", roberta: "tiny" },
        maxLength: MAX_LENGTH,
        seed: 42,
        useSideFeatures: true,
        earlyStoppingPatience: 2,
        warmupRatio: 0.1,
        maxGradNorm: 1,
        params: PARAMS,
        mitigation: null,
      });
      execFileSync(python.path!, ["-m", "sentiment_trainer", ...inputToArgs(train)], {
        cwd: TRAINER,
        env: trainerEnv(),
        stdio: "pipe",
        timeout: 600_000,
      });

      const script = join(REPO_ROOT, "test/evaluate/py/pytorch_reference.py");
      const args = [script, DATA_DIR, TRAIN_OUT, String(MAX_LENGTH), "42", String(PARAMS.dropout), "true"];
      reference = JSON.parse(
        execFileSync(python.path!, args, { env: trainerEnv(), encoding: "utf8", timeout: 300_000 }),
      ) as typeof reference;
    }, 900_000);
    afterAll(() => world?.dispose());

    it("computes the metrics of the PyTorch model it exported, up to the rows whose near-tied logits flipped", async () => {
      expect(await world.run(world.input({ dataDir: DATA_DIR, modelDir: `${TRAIN_OUT}/model` }), null)).toBe(
        0,
      );
      const lines = (await world.store.read(`${RUN_DIR}/evaluate/a1/predictions.jsonl`))
        .toString("utf8")
        .trim()
        .split("\n");
      const ours = lines.map((l) =>
        LABELS.indexOf((JSON.parse(l) as { predicted: (typeof LABELS)[number] }).predicted),
      );
      expect(ours).toHaveLength(reference.predictions.length);
      const disagree = ours.flatMap((p, i) => (p === reference.predictions[i] ? [] : [i]));
      // ONNX and PyTorch differ by float noise only: a prediction may flip only where PyTorch's top two logits tie.
      for (const i of disagree) expect(reference.margins[i], `row ${i + 1}`).toBeLessThan(1e-3);
      expect(disagree.length).toBeLessThanOrEqual(Math.ceil(ours.length * 0.01));

      const report = await world.metrics(`${RUN_DIR}/evaluate/a1`);
      const yTrue = lines.map((l) =>
        LABELS.indexOf((JSON.parse(l) as { label: (typeof LABELS)[number] }).label),
      );
      // The job's metrics are those of its own predictions, and differ from PyTorch's only by the flipped rows.
      expect(report.metrics.confusion).toEqual(metricsOf(yTrue, ours, LABELS).confusion);
      const pytorch = metricsOf(yTrue, reference.predictions, LABELS);
      const moved = report.metrics.confusion
        .flat()
        .reduce((a, c, k) => a + Math.abs(c - pytorch.confusion.flat()[k]!), 0);
      // Each flipped row moves one count from PyTorch's cell to the job's (two rows can cancel out).
      expect(moved).toBeLessThanOrEqual(2 * disagree.length);
      // Always, whatever flipped: the trainer's own PyTorch evaluation of its predictions (its metric code, in
      // Python) equals this project's metric code on the same predictions, to the last digit.
      expect(pytorch.accuracy).toBeCloseTo(reference.summary.accuracy, 12);
      expect(pytorch.weightedF1).toBeCloseTo(reference.summary.weightedF1, 12);
      expect(pytorch.macroF1).toBeCloseTo(reference.summary.macroF1, 12);
      // And the job's own figures are PyTorch's within what the flipped rows can move.
      const n = ours.length;
      expect(Math.abs(report.metrics.accuracy - reference.summary.accuracy)).toBeLessThanOrEqual(
        disagree.length / n + 1e-12,
      );
    });
  },
);
