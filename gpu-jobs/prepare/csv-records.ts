// Assembles CSV records (RFC 4180: quoted fields may hold commas, quotes and line breaks) from physical lines,
// resynchronising after a broken record so that the valid rows around it survive.
import type { Line } from "./line-splitter.ts";

export interface CsvRecord {
  kind: "record";
  /** Physical line on which the record starts. */
  line: number;
  fields: string[];
  /** The record's lines as read, joined by "\n". */
  raw: string;
  /** Some line of the record held bytes that are not UTF-8. */
  invalidUtf8: boolean;
}

export interface CsvReject {
  kind: "reject";
  line: number;
  reason: "invalid_csv" | "line_too_long";
  message: string;
  raw: string;
}

export type CsvItem = CsvRecord | CsvReject;

/** The header row cannot be read: the file as a whole is unusable. */
export class CsvHeaderError extends Error {
  override readonly name = "CsvHeaderError";
}

type FeedResult = { done: true } | { done: false } | { error: string };

/**
 * Parses one record, a physical line at a time. Quotes inside an unquoted field are taken literally (as Python's
 * csv module and pandas do); after a closing quote only a comma or the end of the line may follow.
 */
export class CsvFieldParser {
  fields: string[] = [];
  private current = "";
  private inQuotes = false;

  reset(): void {
    this.fields = [];
    this.current = "";
    this.inQuotes = false;
  }

  get open(): boolean {
    return this.inQuotes;
  }

  feed(text: string): FeedResult {
    const n = text.length;
    let i = 0;
    if (this.inQuotes) {
      this.current += "\n";
    }
    for (;;) {
      if (this.inQuotes) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          this.current += text.slice(i);
          return { done: false };
        }
        this.current += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          this.current += '"';
          i = q + 2;
          continue;
        }
        this.inQuotes = false;
        i = q + 1;
        this.fields.push(this.current);
        this.current = "";
        if (i === n) return { done: true };
        if (text.charCodeAt(i) !== 44) {
          return {
            error: `unexpected character after a closing quote (field ${this.fields.length}, column ${i + 1})`,
          };
        }
        i += 1;
        continue;
      }
      // At the start of a field.
      if (text.charCodeAt(i) === 34) {
        this.inQuotes = true;
        i += 1;
        continue;
      }
      const comma = text.indexOf(",", i);
      if (comma === -1) {
        this.fields.push(text.slice(i));
        return { done: true };
      }
      this.fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}

export interface CsvRecordReaderOptions {
  /** A record spanning more bytes than this is given up on (an unclosed quote would otherwise swallow the file). */
  maxRecordBytes: number;
  /** Cut of `raw` in rejects. */
  rawLimit?: number;
}

/**
 * Turns lines into records and rejects. The first record is the header; every later record must have as many
 * fields. A record that spans several lines and does not parse (an unclosed or stray quote) costs only its
 * first line: the lines after it are parsed again as records of their own. Parsing again is bounded: once the lines
 * read a second time exceed the bytes read so far plus four records' worth, a failed span is rejected line by line
 * instead, so that a file of crafted quotes costs linear time, and every line is still a record or a reject.
 */
export class CsvRecordReader {
  header: string[] | null = null;
  private readonly parser = new CsvFieldParser();
  private pending: Line[] = [];
  private pendingBytes = 0;
  private readonly maxRecordBytes: number;
  private readonly rawLimit: number;
  private bytesRead = 0;
  private bytesReread = 0;

  constructor(options: CsvRecordReaderOptions) {
    this.maxRecordBytes = options.maxRecordBytes;
    this.rawLimit = options.rawLimit ?? 8192;
  }

  push(line: Line): CsvItem[] {
    const out: CsvItem[] = [];
    this.bytesRead += line.bytes + 1;
    this.process([line], out);
    return out;
  }

  /** Flushes what is left open at the end of the file: every unclosed span, not only the first. */
  end(): CsvItem[] {
    const out: CsvItem[] = [];
    while (this.pending.length > 0)
      this.process(this.giveUp("a quoted field is not closed before the end of the file", out), out);
    return out;
  }

  private process(input: Line[], out: CsvItem[]): void {
    // Lines given back by giveUp go before the rest; an index and concat, not shift/unshift, keep this linear and
    // off the call stack (spreading 100,000 lines into unshift overflows it).
    let queue = input;
    let i = 0;
    const requeue = (lines: Line[]) => {
      queue = lines.concat(queue.slice(i));
      i = 0;
    };
    while (i < queue.length) {
      const line = queue[i++]!;
      if (line.problem === "line_too_long") {
        if (this.header === null && this.pending.length === 0) {
          throw new CsvHeaderError(
            `the header row (line ${line.number}) is over ${this.maxRecordBytes} bytes`,
          );
        }
        // Its quotes are unknown, so it ends whatever record was open; the open record's other lines come first.
        if (this.pending.length > 0) {
          requeue(this.giveUp("a quoted field is not closed before an overlong line", out).concat([line]));
          continue;
        }
        out.push({
          kind: "reject",
          line: line.number,
          reason: "line_too_long",
          message: `line is ${line.bytes} bytes, over the limit of ${this.maxRecordBytes}`,
          raw: line.text,
        });
        continue;
      }
      if (this.pending.length === 0 && line.text.trim() === "") continue;
      this.pending.push(line);
      this.pendingBytes += line.bytes + 1;
      const r = this.parser.feed(line.text);
      if ("error" in r) {
        if (this.pending.length > 1) requeue(this.giveUp(`a quoted field opened here ${r.error}`, out));
        else this.rejectPending(r.error, out);
        continue;
      }
      if (!r.done) {
        if (this.pendingBytes > this.maxRecordBytes)
          requeue(this.giveUp(`a quoted field is not closed within ${this.maxRecordBytes} bytes`, out));
        continue;
      }
      const fields = this.parser.fields;
      if (this.header === null) {
        this.header = fields.map((f) => f.trim());
        this.clear();
        continue;
      }
      if (fields.length !== this.header.length) {
        const problem = `${fields.length} fields where the header has ${this.header.length}`;
        if (this.pending.length > 1)
          requeue(this.giveUp(`a quoted field opened here leads to ${problem}`, out));
        else this.rejectPending(problem, out);
        continue;
      }
      out.push({
        kind: "record",
        line: this.pending[0]!.number,
        fields,
        raw: this.rawOf(this.pending),
        invalidUtf8: this.pending.some((l) => l.problem === "invalid_utf8"),
      });
      this.clear();
    }
  }

  /**
   * Rejects the first pending line and hands back the others, to be parsed again; past the re-reading budget, rejects
   * them all (each with its own line number) and hands back nothing.
   */
  private giveUp(message: string, out: CsvItem[]): Line[] {
    const [first, ...rest] = this.pending;
    if (this.header === null)
      throw new CsvHeaderError(`the header row (line ${first?.number ?? 1}): ${message}`);
    this.clear();
    if (first)
      out.push({ kind: "reject", line: first.number, reason: "invalid_csv", message, raw: first.text });
    const restBytes = rest.reduce((n, l) => n + l.bytes + 1, 0);
    if (this.bytesReread + restBytes <= this.bytesRead + 4 * this.maxRecordBytes) {
      this.bytesReread += restBytes;
      return rest;
    }
    for (const l of rest)
      out.push({
        kind: "reject",
        line: l.number,
        reason: "invalid_csv",
        message: `inside the quoted field opened on line ${first!.number} (${message}); not read again: the file has too many broken quotes to resynchronise`,
        raw: l.text,
      });
    return [];
  }

  private rejectPending(message: string, out: CsvItem[]): void {
    const first = this.pending[0]!;
    if (this.header === null) throw new CsvHeaderError(`the header row (line ${first.number}): ${message}`);
    out.push({
      kind: "reject",
      line: first.number,
      reason: "invalid_csv",
      message,
      raw: this.rawOf(this.pending),
    });
    this.clear();
  }

  private rawOf(lines: Line[]): string {
    if (lines.length === 1) return lines[0]!.text;
    let raw = "";
    for (const l of lines) {
      raw += raw === "" ? l.text : `\n${l.text}`;
      if (raw.length > this.rawLimit) break;
    }
    return raw;
  }

  private clear(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.parser.reset();
  }
}
