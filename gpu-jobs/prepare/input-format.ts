// Which format an upload is in: the name's extension decides, gzip is told by its magic bytes, and a name
// without a known extension is sniffed; anything else is an error that names the file.
import type { PreparedStats } from "../../schemas/review.ts";

export type InputFormat = PreparedStats["format"];

/** The whole file cannot be used (unknown format, no usable header, corrupt compression): nothing to keep. */
export class UnusableInputError extends Error {
  override readonly name = "UnusableInputError";
}

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** The format the name promises, or null when the extension is not one of ours. */
export function formatFromName(name: string): { base: "jsonl" | "csv"; gzip: boolean } | null {
  const lower = name.toLowerCase().replace(/[?#].*$/, "");
  const gzip = lower.endsWith(".gz");
  const stem = gzip ? lower.slice(0, -3) : lower;
  if (/\.(jsonl|ndjson|json)$/.test(stem)) return { base: "jsonl", gzip };
  if (stem.endsWith(".csv")) return { base: "csv", gzip };
  return null;
}

/** Guesses from the first bytes of the (decompressed) text: a JSON object per line, or a CSV header with a text column. */
export function sniffFormat(head: string): "jsonl" | "csv" | null {
  const text = head.replace(/^\uFEFF/, "").trimStart();
  if (text.startsWith("{")) return "jsonl";
  const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
  const cells = firstLine.split(",").map((c) => c.trim().replace(/^"|"$/g, "").toLowerCase());
  if (cells.length > 1 && cells.includes("text")) return "csv";
  return null;
}

export function formatName(base: "jsonl" | "csv", gzip: boolean): InputFormat {
  return `${base}${gzip ? ".gz" : ""}`;
}
