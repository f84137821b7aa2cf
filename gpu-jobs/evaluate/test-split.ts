// Reads the prepared test split and its stats, naming the file, line and field of anything wrong.
import { createInterface } from "node:readline";
import { LABELS } from "../../schemas/names.ts";
import { PreparedReview, PreparedStats } from "../../schemas/review.ts";
import type { ObjectStore } from "../../platform/ports/object-store.ts";
import { NonRetryableJobError } from "../common/job-runtime.ts";
import { child, isNotFound, openRead, readBytes } from "./uri-io.ts";

export interface TestRow {
  /** The review's id from the prepare step. */
  id: string;
  /** Line in test.jsonl (1-based). */
  line: number;
  title: string;
  text: string;
  labelId: number;
  slices: Record<string, string>;
  features: number[];
}

export interface TestSplit {
  uri: string;
  rows: TestRow[];
  stats: PreparedStats;
}

export async function readTestSplit(store: ObjectStore, dataDir: string): Promise<TestSplit> {
  const statsUri = child(dataDir, "stats.json");
  const uri = child(dataDir, "test.jsonl");
  const stats = await readStats(store, statsUri);
  const rows = await readRows(store, uri);
  if (rows.length === 0)
    throw new NonRetryableJobError(`the test split ${uri} is empty: there is nothing to evaluate`);
  if (stats.splits.test.rows !== rows.length) {
    throw new NonRetryableJobError(
      `${uri} has ${rows.length} rows but ${statsUri} counts ${stats.splits.test.rows}: the data folder is incomplete or mixed`,
    );
  }
  return { uri, rows, stats };
}

async function readStats(store: ObjectStore, uri: string): Promise<PreparedStats> {
  let bytes: Buffer;
  try {
    bytes = await readBytes(store, uri);
  } catch (err) {
    if (isNotFound(err)) throw new NonRetryableJobError(`the data folder has no stats.json (${uri})`);
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new NonRetryableJobError(`${uri} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PreparedStats.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NonRetryableJobError(
      `${uri}, field ${issue?.path.join(".") ?? "?"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

async function readRows(store: ObjectStore, uri: string): Promise<TestRow[]> {
  const rows: TestRow[] = [];
  const lines = createInterface({ input: openRead(store, uri), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === "") continue;
      rows.push(parseRow(uri, line, text));
    }
  } catch (err) {
    if (isNotFound(err)) throw new NonRetryableJobError(`the data folder has no test split (${uri})`);
    throw err;
  }
  return rows;
}

function parseRow(uri: string, line: number, text: string): TestRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new NonRetryableJobError(`${uri} line ${line}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = PreparedReview.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join(".");
    if (field === "label") {
      const label = JSON.stringify((value as { label?: unknown }).label);
      throw new NonRetryableJobError(
        `${uri} line ${line}, field label: unknown label ${label}; expected one of ${LABELS.join(", ")}`,
      );
    }
    throw new NonRetryableJobError(`${uri} line ${line}, field ${field || "(row)"}: ${issue.message}`);
  }
  const row = parsed.data;
  if (LABELS[row.labelId] !== row.label) {
    throw new NonRetryableJobError(
      `${uri} line ${line}, field labelId: ${row.labelId} is ${LABELS[row.labelId]}, but the label is ${row.label}`,
    );
  }
  return {
    id: row.id,
    line,
    title: row.title,
    text: row.text,
    labelId: row.labelId,
    slices: row.slices,
    features: row.features,
  };
}
