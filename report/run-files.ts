// Reads what a run left in its folder (state, stats, trials, training history, metrics, slices), each file validated.
import { MlflowLocation, mlflowLocationUri } from "../tracking/pipeline-run.ts";
import { z } from "zod";
import { HyperParams } from "../schemas/hyperparams.ts";
import { MetricsReport, MetricsSummary, SliceReport } from "../schemas/metrics.ts";
import { ErrorAnalysis } from "../schemas/error-analysis.ts";
import { ModelMetadata } from "../schemas/model.ts";
import { PreparedStats, RejectedRow } from "../schemas/review.ts";
import { runDir, type JobStep } from "../schemas/names.ts";
import type { RunState } from "../schemas/run-state.ts";
import type { PipelineEvent } from "../events/catalogue.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { readRunEvents } from "../functions/run-event-log.ts";

/** A file that was read and validated, or why it could not be. */
export type Loaded<T> = { ok: true; uri: string; value: T } | { ok: false; uri: string; reason: string };

/** `tuning.json`, the trainer's summary of a tuning attempt. */
export const TuningSummary = z
  .object({
    trials: z.number().int().min(0),
    completedTrials: z.number().int().min(0),
    prunedTrials: z.number().int().min(0),
    bestParams: HyperParams,
    bestValue: z.number(),
    studyTrials: z.number().int().min(0).optional(),
    bestTrial: z.number().int().min(0).optional(),
    bestValidation: MetricsSummary.nullable().optional(),
    /** The model the best trial trained; absent from older runs. */
    baseModel: z.string().min(1).max(500).optional(),
    /** The model each searched family names (with `--model minilm`, bert is minilm); absent from older runs. */
    models: z.record(z.string(), z.string().min(1).max(500)).optional(),
  })
  .loose();
export type TuningSummary = z.infer<typeof TuningSummary>;

/** One line of `trials.csv`. */
export const TrialRow = z.object({
  /** The trial's number counted from 1, as the trainer's `trial` column and `tuning.json`'s `bestTrial` count. */
  number: z.number().int().min(1),
  state: z.string(),
  value: z.number().nullable(),
  modelFamily: z.string(),
  learningRate: z.number().nullable(),
  batchSize: z.number().nullable(),
  epochs: z.number().nullable(),
  weightDecay: z.number().nullable(),
  dropout: z.number().nullable(),
  epochsRun: z.number().nullable(),
  seconds: z.number().nullable(),
});
export type TrialRow = z.infer<typeof TrialRow>;

/** `training.json`: the epoch history of a training attempt. */
export const TrainingReport = z
  .object({
    history: z.array(
      z
        .object({
          epoch: z.number().int().min(1),
          trainLoss: z.number(),
          weightedF1: z.number(),
          macroF1: z.number().optional(),
          accuracy: z.number().optional(),
          examplesPerSecond: z.number().optional(),
        })
        .loose(),
    ),
    bestEpoch: z.number().int().nullable().optional(),
    device: z.string().optional(),
  })
  .loose();
export type TrainingReport = z.infer<typeof TrainingReport>;

export interface TuneAttempt {
  attempt: number;
  summary: Loaded<TuningSummary>;
  trials: Loaded<TrialRow[]>;
}
export interface TrainAttempt {
  attempt: number;
  report: Loaded<TrainingReport>;
  metadata: Loaded<ModelMetadata>;
}
export interface EvaluateAttempt {
  attempt: number;
  metrics: Loaded<MetricsReport>;
  slices: Loaded<SliceReport>;
  /** `analysis.json`: missing in runs evaluated before the evaluate job wrote it. */
  analysis: Loaded<ErrorAnalysis>;
}

export interface RejectedSample {
  rows: Pick<RejectedRow, "line" | "reason" | "field" | "message">[];
  /** More rejected rows exist than were read. */
  more: boolean;
}

/** Everything the report needs about one run. */
export interface RunFiles {
  runId: string;
  runUri: string;
  state: RunState;
  events: PipelineEvent[];
  stats: Loaded<PreparedStats> | null;
  rejected: Loaded<RejectedSample> | null;
  tune: TuneAttempt[];
  train: TrainAttempt[];
  evaluate: EvaluateAttempt[];
  /** Where the run is in MLflow; null when the run was not tracked. */
  mlflow: Loaded<MlflowLocation> | null;
}

export class UnknownRunError extends Error {
  override readonly name = "UnknownRunError";
}

const REJECTED_SAMPLE = 12;

/** Reads the run's state and every file its step attempts wrote; missing or invalid files are reported, not thrown. */
export async function loadRunFiles(store: ObjectStore, ledger: RunLedger, runId: string): Promise<RunFiles> {
  const doc = await ledger.get(runId);
  if (!doc) throw new UnknownRunError(`no run ${runId} in gs://${store.bucket}/runs/`);
  const state = doc.state;
  const base = runDir(store.bucket, runId);
  const attempts = (step: JobStep) => Array.from({ length: state.steps[step].attempt }, (_, i) => i + 1);
  const at = (step: JobStep, attempt: number, name: string) => `${base}/${step}/a${attempt}/${name}`;

  const prepareAttempt = state.steps.prepare.attempt;
  const dataDir =
    state.artifacts.prepared?.dataDir ?? (prepareAttempt > 0 ? `${base}/prepare/a${prepareAttempt}` : null);
  const statsUri = state.artifacts.prepared?.statsUri ?? (dataDir ? `${trim(dataDir)}/stats.json` : null);

  const [events, stats, rejected, tune, train, evaluate] = await Promise.all([
    readRunEvents(store, runId).then((l) => l.events),
    statsUri ? readJson(store, statsUri, PreparedStats) : Promise.resolve(null),
    dataDir ? readRejected(store, `${trim(dataDir)}/rejected.jsonl`) : Promise.resolve(null),
    Promise.all(
      attempts("tune").map(async (a): Promise<TuneAttempt> => ({
        attempt: a,
        summary: await readJson(store, at("tune", a, "tuning.json"), TuningSummary),
        trials: await readTrials(store, at("tune", a, "trials.csv")),
      })),
    ),
    Promise.all(
      attempts("train").map(async (a): Promise<TrainAttempt> => ({
        attempt: a,
        report: await readJson(store, at("train", a, "training.json"), TrainingReport),
        metadata: await readJson(store, at("train", a, "model/metadata.json"), ModelMetadata),
      })),
    ),
    Promise.all(
      attempts("evaluate").map(async (a): Promise<EvaluateAttempt> => ({
        attempt: a,
        metrics: await readJson(store, at("evaluate", a, "metrics.json"), MetricsReport),
        slices: await readJson(store, at("evaluate", a, "slices.json"), SliceReport),
        analysis: await readJson(store, at("evaluate", a, "analysis.json"), ErrorAnalysis),
      })),
    ),
  ]);
  const mlflow = await readJson(store, mlflowLocationUri(store.bucket, runId), MlflowLocation);
  return {
    runId,
    runUri: base,
    state,
    events,
    stats,
    rejected,
    tune,
    train,
    evaluate,
    mlflow: !mlflow.ok && mlflow.reason === "missing" ? null : mlflow,
  };
}

/** Reads and validates one JSON file. */
export async function readJson<T>(store: ObjectStore, uri: string, schema: z.ZodType<T>): Promise<Loaded<T>> {
  const text = await readText(store, uri);
  if (!text.ok) return text;
  let json: unknown;
  try {
    json = JSON.parse(text.value);
  } catch (err) {
    return { ok: false, uri, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, uri, reason: `invalid: ${issue?.path.join(".") || "(root)"}: ${issue?.message}` };
  }
  return { ok: true, uri, value: parsed.data };
}

async function readText(store: ObjectStore, uri: string): Promise<Loaded<string>> {
  try {
    return { ok: true, uri, value: (await store.read(uri)).toString("utf8") };
  } catch (err) {
    if ((err as Error).name === "NotFoundError") return { ok: false, uri, reason: "missing" };
    throw err;
  }
}

async function readRejected(store: ObjectStore, uri: string): Promise<Loaded<RejectedSample>> {
  const text = await readText(store, uri);
  if (!text.ok) return text;
  const lines = text.value.split("\n").filter((l) => l.trim() !== "");
  const rows: RejectedSample["rows"] = [];
  for (const line of lines.slice(0, REJECTED_SAMPLE)) {
    try {
      const parsed = RejectedRow.safeParse(JSON.parse(line));
      // The raw line stays out: a report is shared, and review text is the user's data.
      if (parsed.success) {
        const { line: n, reason, field, message } = parsed.data;
        rows.push({ line: n, reason, field, message });
      }
    } catch {
      /* a broken line is skipped */
    }
  }
  return { ok: true, uri, value: { rows, more: lines.length > REJECTED_SAMPLE } };
}

async function readTrials(store: ObjectStore, uri: string): Promise<Loaded<TrialRow[]>> {
  const text = await readText(store, uri);
  if (!text.ok) return text;
  const table = parseCsv(text.value);
  const header = table[0];
  if (!header) return { ok: false, uri, reason: "empty" };
  const col = (row: string[], name: string) => {
    const i = header.indexOf(name);
    return i < 0 ? "" : (row[i] ?? "");
  };
  const num = (s: string) => (s.trim() === "" || !Number.isFinite(Number(s)) ? null : Number(s));
  // The trainer and the Vertex tune job write `trial`, counted from 1; files from before that hold Optuna's
  // `number`, counted from 0.
  const fromZero = !header.includes("trial") && header.includes("number");
  if (!header.includes("trial") && !fromZero)
    return { ok: false, uri, reason: `no trial column in the header (${header.join(",")})` };
  const trialOf = (row: string[]) => {
    const n = num(col(row, fromZero ? "number" : "trial"));
    return n === null ? null : fromZero ? n + 1 : n;
  };
  const rows: TrialRow[] = [];
  for (const row of table.slice(1)) {
    const parsed = TrialRow.safeParse({
      number: trialOf(row),
      state: col(row, "state"),
      value: num(col(row, "value")),
      modelFamily: col(row, "model_family"),
      learningRate: num(col(row, "learning_rate")),
      batchSize: num(col(row, "batch_size")),
      epochs: num(col(row, "epochs")),
      weightDecay: num(col(row, "weight_decay")),
      dropout: num(col(row, "dropout")),
      epochsRun: num(col(row, "epochs_run")),
      seconds: num(col(row, "seconds")),
    });
    if (!parsed.success)
      return { ok: false, uri, reason: `invalid row ${rows.length + 2}: ${parsed.error.issues[0]?.message}` };
    rows.push(parsed.data);
  }
  return { ok: true, uri, value: rows };
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== "");
}

function trim(uri: string): string {
  return uri.replace(/\/+$/, "");
}
