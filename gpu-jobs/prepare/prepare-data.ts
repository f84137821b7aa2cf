// Prepares an upload in two streaming passes: read, validate, clean, label and dedupe every row (kept rows wait in a
// local spill file, rejected ones go to rejected.jsonl); then split, fit the feature scaling on the training split
// and write the three splits and stats.json. Shared by the job and the standalone command.
import { createHash } from "node:crypto";
import { prettifyError, ZodError } from "zod";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DataConfig } from "../../schemas/config.ts";
import { LABELS } from "../../schemas/names.ts";
import { PreparedStats, type RejectReason, type RejectedRow } from "../../schemas/review.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { joinLocation, makeDataIo, type DataIo, type TextWriter } from "./data-io.ts";
import { DEFAULT_MAX_LINE_BYTES, LineSplitter } from "./line-splitter.ts";
import { openRecordSource, type SourceItem } from "./record-source.ts";
import { reviewRow } from "./review-row.ts";
import { hash96, splitKey } from "./identity.ts";
import { Hash96Set } from "./hash-set.ts";
import { KeptRows } from "./kept-rows.ts";
import { assignSplits, SPLIT_NAMES } from "./split.ts";
import { classWeights, splitStats, trainingFeatureValues } from "./split-stats.ts";
import { computeFeatureStats, featureVector } from "./features.ts";
import { UnusableInputError } from "./input-format.ts";

export const OUTPUT_FILES = {
  train: "train.jsonl",
  validation: "validation.jsonl",
  test: "test.jsonl",
  stats: "stats.json",
  rejected: "rejected.jsonl",
} as const;

/** `raw` in rejected.jsonl is cut to this many characters. */
export const RAW_LIMIT = 4096;

export interface PrepareOptions {
  /** gs:// URI or local path of the upload. */
  input: string;
  /** Folder (gs:// or local) that receives the outputs. */
  outDir: string;
  sliceColumns: readonly string[];
  data: DataConfig;
  io: DataIo;
  log: Logger;
  /** Called now and then with rows read so far (and the total once known). */
  progress?: (rows: number, total: number | null, message: string) => Promise<void>;
  /** How often progress is reported; default 10 s. */
  progressIntervalMs?: number;
  /** Where the spill file lives; default the OS temp folder. */
  tmpDir?: string;
  maxLineBytes?: number;
}

export interface PrepareResult {
  stats: PreparedStats;
  locations: Record<keyof typeof OUTPUT_FILES, string>;
  /** Why the run must fail (nothing valid, or too much rejected); null when the data can be used. */
  failure: string | null;
}

/** Throws UnusableInputError when the file as a whole cannot be read; bad rows never throw. */
export async function prepareData(options: PrepareOptions): Promise<PrepareResult> {
  const { input, outDir, io, log, data } = options;
  const sliceColumns = [...options.sliceColumns];
  const locations = Object.fromEntries(
    Object.entries(OUTPUT_FILES).map(([k, name]) => [k, joinLocation(outDir, name)]),
  ) as PrepareResult["locations"];
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const progress = throttle(options.progress, options.progressIntervalMs ?? 10_000);

  const source = await openRecordSource(input, io.read(input), {
    maxLineBytes,
    requiredColumns: ["text", "rating"],
  });
  log.info("prepare: reading", { input, format: source.format, sliceColumns });

  const spillDir = await mkdtemp(join(options.tmpDir ?? tmpdir(), "sp-prepare-"));
  const open: TextWriter[] = [];
  const track = (w: TextWriter): TextWriter => (open.push(w), w);
  try {
    // Pass 1: every row read is either kept (spilled, with its numbers in memory) or rejected with its reason.
    const kept = new KeptRows(sliceColumns);
    const seen = new Hash96Set();
    const h = new Uint32Array(3);
    const rejected = track(io.writer(locations.rejected));
    const spillPath = join(spillDir, "kept.jsonl");
    const spill = track(makeDataIo(null).writer(spillPath));
    const rejectedByReason: Partial<Record<RejectReason, number>> = {};
    const labelSource = { column: 0, rating: 0 };
    let rowsRead = 0;
    const addReject = (
      line: number,
      reason: RejectReason,
      field: string | null,
      message: string,
      raw: string,
    ): void => {
      rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + 1;
      // An overlong line reaches here already cut to its head by the line splitter.
      const truncated = raw.length > RAW_LIMIT || reason === "line_too_long";
      const row: RejectedRow = {
        line,
        reason,
        field,
        message,
        raw: truncated ? raw.slice(0, RAW_LIMIT) : raw,
        truncated,
      };
      rejected.write(`${JSON.stringify(row)}\n`);
    };
    const handle = (item: SourceItem): void => {
      rowsRead += 1;
      if (item.kind === "reject")
        return addReject(item.line, item.reason, item.field, item.message, item.raw);
      if (item.invalidUtf8)
        return addReject(
          item.line,
          "invalid_utf8",
          null,
          "row holds bytes that are not valid UTF-8",
          item.raw,
        );
      const outcome = reviewRow(item.values, { sliceColumns, labels: data.labels });
      if (!outcome.ok)
        return addReject(
          item.line,
          outcome.problem.reason,
          outcome.problem.field,
          outcome.problem.message,
          item.raw,
        );
      const r = outcome.row;
      hash96(r.id, h);
      if (!seen.add(h))
        return addReject(
          item.line,
          "duplicate",
          "id",
          `duplicate of an earlier row with id ${r.id}`,
          item.raw,
        );
      if (r.labelFromColumn) labelSource.column += 1;
      else labelSource.rating += 1;
      kept.add({
        line: item.line,
        labelId: r.labelId,
        key: splitKey(h[0]!, h[1]!, data.seed),
        timestamp: r.timestamp,
        price: r.price,
        helpfulVote: r.helpfulVote,
        verifiedPurchase: r.verifiedPurchase,
        slices: r.slices,
      });
      // Everything of the output row but its line and features, which come from memory in pass 2.
      const slices: Record<string, string> = {};
      sliceColumns.forEach((c, k) => (slices[c] = r.slices[k]!));
      const json = JSON.stringify({
        id: r.id,
        title: r.title,
        text: r.text,
        rating: r.rating,
        label: r.label,
        labelId: r.labelId,
        timestamp: r.timestamp,
        slices,
      });
      spill.write(`${json.slice(0, -1)}\n`);
    };
    for await (const batch of source.batches) {
      for (const item of batch) handle(item);
      await spill.flushIfFull();
      await rejected.flushIfFull();
      await progress(rowsRead, null, "reading");
    }
    await spill.close();
    await rejected.close();

    const rowsKept = kept.count;
    const rowsRejected = rowsRead - rowsKept;
    // Pass 2 needs the split of every row, and the scaling statistics of the training split.
    const splits = assignSplits(
      { labels: kept.labels, keys: kept.keys, timestamps: kept.timestamps },
      data.splitMode,
      data.split,
    );
    const perSplit = splitStats(kept, splits);
    const train = trainingFeatureValues(kept, splits);
    const featureStats = deterministic("the side features' scaling statistics", () => ({
      ...computeFeatureStats(train.prices, train.helpfulVotes),
      present: train.present,
    }));

    const writers = SPLIT_NAMES.map((s) => track(io.writer(locations[s])));
    const fingerprint = createHash("sha256");
    fingerprint.update(JSON.stringify({ splitMode: data.splitMode, seed: data.seed, sliceColumns }));
    const lines = kept.lines;
    const prices = kept.prices;
    const helpful = kept.helpfulVotes;
    const verified = kept.verifiedFlags;
    const splitter = new LineSplitter({ maxLineBytes: Number.MAX_SAFE_INTEGER });
    let i = 0;
    const writeRow = (prefix: string): void => {
      const s = splits[i]!;
      const p = prices[i]!;
      const hv = helpful[i]!;
      const v = verified[i]!;
      const f = featureVector(
        {
          price: Number.isNaN(p) ? null : p,
          helpfulVote: Number.isNaN(hv) ? null : hv,
          verifiedPurchase: v === 2 ? null : v === 1,
        },
        featureStats,
      );
      const features = `,"features":[${f.join(",")}]}`;
      writers[s]!.write(`${prefix},"line":${lines[i]}${features}\n`);
      // The line number is left out, so that the same reviews give the same fingerprint in JSONL and in CSV.
      fingerprint.update(`${s}\t${prefix}${features}\n`);
      i += 1;
    };
    for await (const chunk of createReadStream(spillPath) as AsyncIterable<Buffer>) {
      for (const line of splitter.push(chunk)) writeRow(line.text);
      for (const w of writers) await w.flushIfFull();
      await progress(i, rowsKept, "writing splits");
    }
    for (const line of splitter.end()) writeRow(line.text);
    if (i !== rowsKept) throw new Error(`spill file holds ${i} rows, expected ${rowsKept}`);
    for (const w of writers) await w.close();

    const stats = deterministic("stats.json", () =>
      PreparedStats.parse({
        input,
        format: source.format,
        schema:
          source.columns?.includes("sentiment_label") || labelSource.column > 0
            ? "labeled-csv"
            : "amazon-2023",
        rowsRead,
        rowsKept,
        rowsRejected,
        rejectedByReason,
        labelSource,
        splitMode: data.splitMode,
        seed: data.seed,
        splits: perSplit,
        classWeights: classWeights(perSplit.train),
        featureStats,
        fingerprint: fingerprint.digest("hex"),
      }),
    );
    await io.writeText(locations.stats, `${JSON.stringify(stats, null, 2)}\n`);
    const failure = failureOf(stats, data.maxRejectedShare);
    const summary = {
      rowsRead,
      rowsKept,
      rowsRejected,
      rejectedByReason,
      splits: Object.fromEntries(SPLIT_NAMES.map((s) => [s, perSplit[s].rows])),
      labels: Object.fromEntries(
        LABELS.map((l) => [l, SPLIT_NAMES.reduce((n, s) => n + (perSplit[s].byLabel[l] ?? 0), 0)]),
      ),
    };
    if (failure) log.error(`prepare: ${failure}`, summary);
    else if (rowsRejected > 0)
      log.warn(
        `prepare: kept ${rowsKept} of ${rowsRead} rows; rejected rows are in ${locations.rejected}`,
        summary,
      );
    else log.info(`prepare: kept all ${rowsKept} rows`, summary);
    await progress.final(rowsRead, rowsRead, "done");
    return { stats, locations, failure };
  } catch (err) {
    // Nothing half-written is left behind under an output's name.
    await Promise.all(open.map((w) => w.abort()));
    throw err;
  } finally {
    await rm(spillDir, { recursive: true, force: true });
  }
}

/**
 * Runs a computation that depends only on the file's rows: if it fails, the same file fails the same way on a retry,
 * so the failure is reported as an unusable input (non-retryable) rather than left to look transient.
 */
function deterministic<T>(what: string, compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    const detail = err instanceof ZodError ? prettifyError(err).replace(/\s+/g, " ") : (err as Error).message;
    throw new UnusableInputError(`cannot compute ${what} from this file's rows: ${detail}`);
  }
}

/** Why the prepared data cannot be used, with the counts; null when it can. */
export function failureOf(stats: PreparedStats, maxRejectedShare: number): string | null {
  const counts = `read ${stats.rowsRead}, kept ${stats.rowsKept}, rejected ${stats.rowsRejected}${describeReasons(stats.rejectedByReason)}`;
  if (stats.rowsRead === 0) return `no rows in the file (${counts})`;
  if (stats.rowsKept === 0) return `no valid rows left (${counts})`;
  const share = stats.rowsRejected / stats.rowsRead;
  if (share > maxRejectedShare) {
    return `${(share * 100).toFixed(1)}% of the rows were rejected, more than the allowed ${(maxRejectedShare * 100).toFixed(1)}% (${counts})`;
  }
  return null;
}

function describeReasons(byReason: Record<string, number>): string {
  const parts = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort(([ra, a], [rb, b]) => b - a || (ra < rb ? -1 : 1))
    .map(([r, n]) => `${r} ${n}`);
  return parts.length > 0 ? `: ${parts.join(", ")}` : "";
}

type Progress = ((rows: number, total: number | null, message: string) => Promise<void>) & {
  final: (rows: number, total: number | null, message: string) => Promise<void>;
};

/** Reports at most once per interval, and always at the end. */
function throttle(report: PrepareOptions["progress"], intervalMs: number): Progress {
  let last = Date.now();
  const fn = (async (rows, total, message) => {
    if (!report || Date.now() - last < intervalMs) return;
    last = Date.now();
    await report(rows, total, message);
  }) as Progress;
  fn.final = async (rows, total, message) => {
    if (report) await report(rows, total, message);
  };
  return fn;
}
