// Splits a byte stream into lines, one chunk at a time: a line longer than the cap is skipped, never buffered whole.
import { Buffer, isUtf8 } from "node:buffer";

/** Why a line cannot be used as it is. */
export type LineProblem = "invalid_utf8" | "line_too_long";

export interface Line {
  /** 1-based physical line number. */
  number: number;
  /** The line without its line break (CRLF or LF); for a line over the cap, only its first `keepBytes` bytes. */
  text: string;
  /** Byte length of the whole line without its line break. */
  bytes: number;
  /** Null for a well-formed line; otherwise `text` is decoded leniently (invalid bytes become U+FFFD). */
  problem: LineProblem | null;
}

export interface LineSplitterOptions {
  /** Lines longer than this many bytes are reported as `line_too_long` (default 1 MiB). */
  maxLineBytes?: number;
  /** How many bytes of an overlong line are kept for the report (default 4 KiB). */
  keepBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly keepBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Overlong line being skipped: its first bytes and its length so far. */
  private overflow: { head: Buffer; bytes: number } | null = null;
  private lineNumber = 0;
  private atStart = true;

  constructor(options: LineSplitterOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.keepBytes = Math.min(options.keepBytes ?? 4096, this.maxLineBytes);
  }

  /** Lines completed by this chunk, in order. */
  push(chunk: Uint8Array): Line[] {
    let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.atStart) {
      if (buf.length === 0) return [];
      this.atStart = false;
      // A UTF-8 byte order mark is not part of the first line (spreadsheet exports often write one).
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const out: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.hold(buf.subarray(start));
        return out;
      }
      out.push(this.finish(buf.subarray(start, nl)));
      start = nl + 1;
    }
  }

  /** The last line when the input does not end with a line break. */
  end(): Line[] {
    if (this.overflow === null && this.pendingBytes === 0) return [];
    return [this.finish(Buffer.alloc(0))];
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    if (this.overflow !== null) {
      this.overflow.bytes += part.length;
      return;
    }
    if (this.pendingBytes + part.length > this.maxLineBytes + 1) {
      // Over the cap (one byte of slack for a CR before the LF): keep the head only, count the rest.
      const head = Buffer.concat([...this.pending, part], this.pendingBytes + part.length).subarray(
        0,
        this.keepBytes,
      );
      this.overflow = { head: Buffer.from(head), bytes: this.pendingBytes + part.length };
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller may reuse the chunk's memory.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finish(tail: Buffer): Line {
    this.lineNumber += 1;
    const number = this.lineNumber;
    if (this.overflow !== null) {
      // hold() only overflows past the cap plus one byte of CR slack, so the line is always too long here.
      const bytes = this.overflow.bytes + tail.length - (endsWithCr(tail) ? 1 : 0);
      const head = this.overflow.head;
      this.overflow = null;
      return { number, text: head.toString("utf8"), bytes, problem: "line_too_long" };
    }
    let line: Buffer;
    if (this.pendingBytes === 0) line = tail;
    else {
      this.pending.push(tail);
      line = Buffer.concat(this.pending, this.pendingBytes + tail.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    if (endsWithCr(line)) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxLineBytes) {
      return {
        number,
        text: line.toString("utf8", 0, this.keepBytes),
        bytes: line.length,
        problem: "line_too_long",
      };
    }
    const text = line.toString("utf8");
    // Decoding replaces invalid bytes with U+FFFD; only then is the slower exact check worth doing.
    const problem = text.includes("\uFFFD") && !isUtf8(line) ? "invalid_utf8" : null;
    return { number, text, bytes: line.length, problem };
  }
}

function endsWithCr(b: Buffer): boolean {
  return b.length > 0 && b[b.length - 1] === CR;
}
