// One human line per pipeline event, for the demo and the command-line watcher.
import type { PipelineEvent } from "../events/catalogue.ts";
import { countOf } from "../schemas/text.ts";

const f = (x: number) => x.toFixed(3);

/**
 * The model a run trained is the event's `baseModel`; for events from older jobs, `models` (the config's model per
 * family) names it: with `--model minilm` every family is minilm, and "bert" would say something the run did not do.
 */
export function describeEvent(event: PipelineEvent, models?: Partial<Record<string, string>>): string | null {
  const line = eventLine(event, models);
  return line === null ? null : printable(line);
}

/**
 * Text from events and run state (a job's error, a retrigger's reason, a progress message, a model name) reaches a
 * person's terminal, and any Pub/Sub publisher can write a retrigger reason: an escape sequence, a carriage return or
 * a bidirectional override in it would rewrite the screen or hide what it says. Printed, they read as `\u001b`;
 * line breaks and tabs as spaces, so that an event stays one line.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this escapes
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) =>
    c === "\n" || c === "\r" || c === "\t" ? " " : `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

function eventLine(event: PipelineEvent, models?: Partial<Record<string, string>>): string | null {
  const a = `a${event.attempt}`;
  switch (event.type) {
    case "run.started":
      return `run.started           ${event.runId} from ${event.data.input}${event.data.modelLine ? ` (model line ${event.data.modelLine})` : ""}`;
    case "data.prepared":
      return `data.prepared         ${a}  ${event.data.rowsKept} rows kept of ${event.data.rowsRead} (${event.data.rowsRejected} rejected): train ${event.data.splits.train.rows}, validation ${event.data.splits.validation.rows}, test ${event.data.splits.test.rows}`;
    case "tuning.completed":
      return `tuning.completed      ${a}  ${countOf(event.data.trials, "trial")} (${event.data.prunedTrials} pruned), best validation weighted F1 ${f(event.data.bestValue)}: ${event.data.baseModel ?? models?.[event.data.bestParams.modelFamily] ?? event.data.bestParams.modelFamily} lr ${event.data.bestParams.learningRate.toExponential(1)} batch ${event.data.bestParams.batchSize} epochs ${event.data.bestParams.epochs}`;
    case "training.completed":
      return `training.completed    ${a}  validation weighted F1 ${f(event.data.validation.weightedF1)}, macro F1 ${f(event.data.validation.macroF1)}${event.data.mitigation ? `, mitigated (${event.data.mitigation.slices.map((s) => `${s.column}=${s.value} x${s.weight}`).join(", ")})` : ""}${event.data.quantization ? `; ${event.data.quantization.reason ?? `${event.data.quantization.served} export served`}` : ""}`;
    case "evaluation.completed": {
      const c = event.data.champion;
      return `evaluation.completed  ${a}  test weighted F1 ${f(event.data.overall.weightedF1)}, macro F1 ${f(event.data.overall.macroF1)}, accuracy ${f(event.data.overall.accuracy)} on ${event.data.testRows} rows${c ? `; champion v${c.modelVersion} ${f(c.overall.weightedF1)}` : ""}`;
    }
    case "run.retriggered":
      return `run.retriggered       from ${event.data.from} (${event.data.reason}): ${event.data.detail}`;
    case "model.registered":
      return `model.registered      version ${event.data.version} of ${event.data.modelResource} is ${event.data.alias}`;
    case "run.completed":
      return `run.completed         ${event.data.outcome}`;
    case "job.failed":
      return `job.failed            ${event.data.step} ${a}${event.data.retryable ? "" : " (not retryable)"}: ${event.data.error.slice(0, 200)}`;
    case "job.progress":
      return `  ${event.data.step} ${a} ${progressCount(event.data)}${event.data.message ? `  ${event.data.message}` : ""}`;
    case "retrigger.requested":
      return `retrigger.requested   from ${event.data.fromStep}: ${event.data.reason}`;
  }
}

/**
 * A progress count as a person reads it: trials count the finished ones ("0/8 trials done" while the first runs, not
 * "trial 0/8"); batches and epochs name the one at hand ("batch 3/75").
 */
export function progressCount(p: { unit: string; current: number; total: number | null }): string {
  const of = p.total !== null ? `${p.current}/${p.total}` : `${p.current}`;
  return p.unit === "trial" ? `${of} trials done` : `${p.unit} ${of}`;
}
