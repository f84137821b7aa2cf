// Test helpers for the prepare job: run it on in-memory file contents, read its outputs, find the shared samples.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DataConfig } from "../../schemas/config.ts";
import { PreparedReview, PreparedStats, RejectedRow } from "../../schemas/review.ts";
import { makeDataIo } from "../../gpu-jobs/prepare/data-io.ts";
import { prepareData, type PrepareResult } from "../../gpu-jobs/prepare/prepare-data.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

export function tempDir(prefix = "sp-prepare-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Prepared extends PrepareResult {
  dir: string;
  train: PreparedReview[];
  validation: PreparedReview[];
  test: PreparedReview[];
  rejected: RejectedRow[];
  log: CapturingLogger;
}

/** Prepares a file (given by path, or by name and contents) into a fresh folder and reads every output back. */
export async function prepareFile(
  file: string | { name: string; content: string | Buffer },
  options: { data?: Partial<DataConfig>; sliceColumns?: string[]; maxLineBytes?: number } = {},
): Promise<Prepared> {
  const dir = tempDir();
  let input: string;
  if (typeof file === "string") input = file;
  else {
    input = join(dir, file.name);
    writeFileSync(input, file.content);
  }
  const log = new CapturingLogger();
  const result = await prepareData({
    input,
    outDir: join(dir, "out"),
    sliceColumns: options.sliceColumns ?? ["year", "main_category"],
    data: DataConfig.parse(options.data ?? {}),
    io: makeDataIo(null),
    log,
    ...(options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {}),
  });
  return {
    ...result,
    dir,
    log,
    train: readJsonl(result.locations.train).map((r) => PreparedReview.parse(r)),
    validation: readJsonl(result.locations.validation).map((r) => PreparedReview.parse(r)),
    test: readJsonl(result.locations.test).map((r) => PreparedReview.parse(r)),
    rejected: readJsonl(result.locations.rejected).map((r) => RejectedRow.parse(r)),
    stats: PreparedStats.parse(JSON.parse(readFileSync(result.locations.stats, "utf8"))),
  };
}

export function readJsonl(path: string): unknown[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as unknown);
}

/** An Amazon Reviews 2023-shaped row with sensible defaults. */
export function review(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    rating: 5,
    title: "Good",
    text: "Works as described.",
    parent_asin: "B000000001",
    user_id: "U1",
    timestamp: 1_600_000_000_000,
    main_category: "Home",
    price: 10,
    ...overrides,
  };
}

/** n distinct valid rows, labels cycling through the given ratings. */
export function reviews(n: number, ratings: number[] = [5, 5, 5, 4, 3, 2, 1]): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) =>
    review({
      user_id: `U${i}`,
      rating: ratings[i % ratings.length],
      text: `Review number ${i}.`,
      timestamp: 1_600_000_000_000 + i * 86_400_000,
    }),
  );
}

export function jsonl(rows: unknown[]): string {
  return rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n";
}

/**
 * The shared review samples: `$REVIEWS_SAMPLE` (a folder or one of the files) or ../shared/data beside the repo.
 * Null when absent, which fails under CI=true and skips elsewhere.
 */
export function sharedSamples(): { jsonl: string; csv: string } | null {
  const env = process.env.REVIEWS_SAMPLE;
  const folder = env
    ? env.endsWith(".jsonl") || env.endsWith(".csv")
      ? resolve(env, "..")
      : resolve(env)
    : resolve("../shared/data");
  const found = {
    jsonl: join(folder, "amazon-reviews-2023-sample.jsonl"),
    csv: join(folder, "labeled-reviews-sample.csv"),
  };
  if (existsSync(found.jsonl) && existsSync(found.csv)) return found;
  if (process.env.CI === "true") {
    throw new Error(
      `the shared review samples are missing (looked in ${folder}); CI needs them: set REVIEWS_SAMPLE`,
    );
  }
  return null;
}
