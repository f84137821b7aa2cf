// A stand-in job for control-plane tests: parses its arguments like a real job, then follows SCRIPTED_PLAN.
// SCRIPTED_PLAN maps "step:attempt" to "crash" (exit 1), "reject" (job.failed, not retryable, exit 3), "hang",
// or an object merged into the completion event's data (e.g. {"overall": {...}} for an evaluation).
import { appendFileSync } from "node:fs";
import { makeEvent } from "../../events/codec.ts";
import type { EventData } from "../../events/catalogue.ts";
import { argsToInput } from "../../gpu-jobs/specs/job-args.ts";
import { JobStep } from "../../schemas/names.ts";

const [stepArg, ...flags] = process.argv.slice(2);
const step = JobStep.parse(stepArg);
const input = argsToInput(step, flags);
const plan = JSON.parse(process.env.SCRIPTED_PLAN ?? "{}") as Record<string, unknown>;
const action = plan[`${step}:${input.attempt}`];
const outbox = process.env.SP_OUTBOX;
if (!outbox) throw new Error("SP_OUTBOX is not set");
const fields = { runId: input.runId, attempt: input.attempt, correlationId: input.correlationId };
const emit = (event: object) => appendFileSync(outbox, `${JSON.stringify(event)}\n`);
console.log(
  JSON.stringify({
    severity: "INFO",
    message: `scripted ${step} attempt ${input.attempt}: ${JSON.stringify(action ?? "complete")}`,
  }),
);

if (action === "crash") process.exit(1);
if (action === "hang") setInterval(() => undefined, 1000);
else if (action === "reject") {
  emit(
    makeEvent("job.failed", fields, {
      step,
      jobName: `sp-${input.runId}-${step}-a${input.attempt}`,
      error: "the upload is unusable: 0 valid rows",
      retryable: false,
      exitCode: 3,
    }),
  );
  process.exit(3);
} else {
  const extra = (typeof action === "object" && action !== null ? action : {}) as Record<string, unknown>;
  const params = {
    modelFamily: "bert" as const,
    // Each tuning attempt finds other parameters (a retune that found something), unless the script says otherwise.
    learningRate: 3e-5 * input.attempt,
    batchSize: 32,
    epochs: 3,
    weightDecay: 0.01,
    dropout: 0.1,
  };
  const summary = { accuracy: 0.85, weightedF1: 0.84, macroF1: 0.7 };
  switch (input.step) {
    case "prepare": {
      const d = input.outDir;
      const data: EventData<"data.prepared"> = {
        dataDir: d,
        splits: {
          train: { uri: `${d}/train.jsonl`, rows: 8 },
          validation: { uri: `${d}/validation.jsonl`, rows: 1 },
          test: { uri: `${d}/test.jsonl`, rows: 1 },
        },
        statsUri: `${d}/stats.json`,
        rejectedUri: `${d}/rejected.jsonl`,
        rowsRead: 10,
        rowsKept: 10,
        rowsRejected: 0,
        fingerprint: "scripted",
      };
      emit(makeEvent("data.prepared", fields, { ...data, ...extra }));
      break;
    }
    case "tune":
      emit(
        makeEvent("tuning.completed", fields, {
          outDir: input.outDir,
          studyUri: `${input.outDir}/study.db`,
          trials: 2,
          completedTrials: 2,
          prunedTrials: 0,
          bestParams: params,
          bestValue: 0.8,
          ...extra,
        }),
      );
      break;
    case "train":
      emit(
        makeEvent("training.completed", fields, {
          modelDir: `${input.outDir}/model`,
          params: input.params,
          validation: summary,
          epochsRun: 3,
          mitigation: input.mitigation,
          ...extra,
        }),
      );
      break;
    case "evaluate":
      emit(
        makeEvent("evaluation.completed", fields, {
          modelDir: input.modelDir,
          metricsUri: `${input.outDir}/metrics.json`,
          slicesUri: `${input.outDir}/slices.json`,
          testRows: 100,
          overall: summary,
          slices: [
            {
              column: "year",
              value: "2021",
              support: 100,
              share: 1,
              f1: 0.84,
              ratio: 1,
              f1Interval: null,
              ratioInterval: null,
            },
          ],
          champion: null,
          ...extra,
        }),
      );
      break;
  }
}
