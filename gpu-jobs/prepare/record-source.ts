// Reads an upload as a stream of raw rows and early rejects (unparseable lines), a batch per chunk of input:
// decompresses gzip, decodes UTF-16 and CR-only line ends, tells the format, splits lines and assembles CSV
// records, never holding the file.
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { RejectReason } from "../../schemas/review.ts";
import { LineSplitter, type Line } from "./line-splitter.ts";
import { normalizeText, textShape } from "./text-encoding.ts";
import { CsvHeaderError, CsvRecordReader, type CsvItem } from "./csv-records.ts";
import {
  formatFromName,
  formatName,
  isGzip,
  sniffFormat,
  UnusableInputError,
  type InputFormat,
} from "./input-format.ts";

export interface RawRow {
  kind: "row";
  /** Physical line on which the row starts. */
  line: number;
  /** The row as read (a JSONL line, or a CSV record's lines). */
  raw: string;
  /** A JSON object, or a CSV record's cells by column name. */
  values: Record<string, unknown>;
  invalidUtf8: boolean;
}

export interface EarlyReject {
  kind: "reject";
  line: number;
  reason: RejectReason;
  field: string | null;
  message: string;
  raw: string;
}

export type SourceItem = RawRow | EarlyReject;

export interface RecordSource {
  format: InputFormat;
  /** The CSV header's column names; null for JSONL. */
  columns: string[] | null;
  /** Batches of items in file order. Throws UnusableInputError when the rest of the file cannot be read. */
  batches: AsyncGenerator<SourceItem[]>;
}

export interface RecordSourceOptions {
  /** Lines (and CSV records) longer than this are rejected unread. */
  maxLineBytes: number;
  /** CSV columns that must exist (the file is unusable without them). */
  requiredColumns: readonly string[];
}

/** Opens a byte stream named `name` (its extension tells the format). */
export async function openRecordSource(
  name: string,
  bytes: AsyncIterable<Uint8Array>,
  options: RecordSourceOptions,
): Promise<RecordSource> {
  const fromName = formatFromName(name);
  const raw = await peekable(bytes);
  const gzip = isGzip(raw.head);
  if (fromName?.gzip && !gzip && raw.head.length > 0)
    throw new UnusableInputError(`${name}: the name ends in .gz but the data is not gzip`);
  const decompressed = gzip ? await peekable(gunzip(raw.chunks, name)) : raw;
  let text = decompressed;
  // Decoded UTF-16 may still have CR-only line ends, hence a second look at what the first pass gives.
  for (let pass = 0, shape = textShape(text.head, name); shape !== "utf8" && pass < 2; pass += 1) {
    text = await peekable(normalizeText(text.chunks, shape, name));
    shape = shape === "cr-lines" ? "utf8" : textShape(text.head, name);
  }
  let base = fromName?.base ?? null;
  if (base === null) {
    base = sniffFormat(Buffer.from(text.head).toString("utf8"));
    if (base === null) {
      throw new UnusableInputError(
        `${name}: unknown format: expected JSON lines (.jsonl, .jsonl.gz) or CSV with a header row (.csv)`,
      );
    }
  }
  const format = formatName(base, gzip);
  if (base === "jsonl") return { format, columns: null, batches: jsonlBatches(text.chunks, options) };
  return csvSource(name, format, text.chunks, options);
}

async function* jsonlBatches(
  chunks: AsyncIterable<Uint8Array>,
  options: RecordSourceOptions,
): AsyncGenerator<SourceItem[]> {
  const splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes });
  for await (const chunk of chunks) yield splitter.push(chunk).map(jsonlItem).filter(isItem);
  yield splitter.end().map(jsonlItem).filter(isItem);
}

function isItem(x: SourceItem | null): x is SourceItem {
  return x !== null;
}

/** One JSONL line: blank lines are skipped, as pandas and every JSON-lines reader do. */
function jsonlItem(line: Line): SourceItem | null {
  if (line.problem === "line_too_long") {
    return reject(line, "line_too_long", `line is ${line.bytes} bytes, over the limit`);
  }
  if (line.problem === "invalid_utf8")
    return reject(line, "invalid_utf8", "line holds bytes that are not valid UTF-8");
  if (line.text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (err) {
    return reject(line, "invalid_json", `not valid JSON: ${jsonErrorMessage(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    return reject(line, "not_an_object", `line is ${what}, not a JSON object`);
  }
  return {
    kind: "row",
    line: line.number,
    raw: line.text,
    values: value as Record<string, unknown>,
    invalidUtf8: false,
  };
}

function reject(line: Line, reason: RejectReason, message: string): EarlyReject {
  return { kind: "reject", line: line.number, reason, field: null, message, raw: line.text };
}

/** V8 quotes a piece of the input in its message; the rejected row already holds the raw line. */
function jsonErrorMessage(err: unknown): string {
  return (err as Error).message
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/^Unexpected token '(.)'$/, "unexpected '$1'");
}

async function csvSource(
  name: string,
  format: InputFormat,
  chunks: AsyncIterable<Uint8Array>,
  options: RecordSourceOptions,
): Promise<RecordSource> {
  const splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes });
  const reader = new CsvRecordReader({ maxRecordBytes: options.maxLineBytes });
  const iterator = chunks[Symbol.asyncIterator]();
  const first: CsvItem[] = [];
  let ended = false;
  // Read up to the header so that a file without the needed columns fails before anything is written.
  try {
    while (reader.header === null && !ended) {
      const next = await iterator.next();
      const lines = next.done ? splitter.end() : splitter.push(next.value);
      ended = next.done === true;
      for (const line of lines) first.push(...reader.push(line));
      if (ended) first.push(...reader.end());
    }
  } catch (err) {
    if (err instanceof CsvHeaderError) throw new UnusableInputError(`${name}: ${err.message}`);
    throw err;
  }
  const header = reader.header;
  if (header === null) return { format, columns: null, batches: (async function* () {})() };
  const missing = options.requiredColumns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new UnusableInputError(
      `${name}: the CSV header has no column ${missing.join(", ")} (columns: ${header.slice(0, 30).join(", ")})`,
    );
  }
  const toItems = (items: CsvItem[]): SourceItem[] =>
    items.map((item) => {
      if (item.kind === "reject") return { ...item, field: null };
      const values: Record<string, unknown> = {};
      // First occurrence wins when a header repeats a name.
      for (let c = header.length - 1; c >= 0; c--) values[header[c]!] = item.fields[c];
      return { kind: "row", line: item.line, raw: item.raw, values, invalidUtf8: item.invalidUtf8 };
    });
  async function* batches(): AsyncGenerator<SourceItem[]> {
    yield toItems(first);
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        const out = splitter.end().flatMap((l) => reader.push(l));
        yield toItems([...out, ...reader.end()]);
        return;
      }
      yield toItems(splitter.push(next.value).flatMap((l) => reader.push(l)));
    }
  }
  return { format, columns: header, batches: batches() };
}

interface Peeked {
  head: Uint8Array;
  chunks: AsyncIterable<Uint8Array>;
}

/** The first non-empty chunk, and an iterable that still yields it. */
async function peekable(source: AsyncIterable<Uint8Array>): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length === 0) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    head = next.value;
  }
  const first = head;
  return {
    head,
    chunks: {
      async *[Symbol.asyncIterator]() {
        if (first.length > 0) yield first;
        if (done) return;
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          yield next.value;
        }
      },
    },
  };
}

async function* gunzip(chunks: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const source = Readable.from(chunks, { objectMode: false });
  const inflate = createGunzip();
  source.on("error", (err) => inflate.destroy(err));
  source.pipe(inflate);
  let bytes = 0;
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith("Z_")) {
      throw new UnusableInputError(
        `${name}: gzip data is corrupt or cut short after ${bytes} bytes (${(err as Error).message})`,
      );
    }
    throw err;
  } finally {
    source.destroy();
    inflate.destroy();
  }
}
