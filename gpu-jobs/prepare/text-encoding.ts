// Brings an upload's text to what the line splitter reads (UTF-8, LF or CRLF line ends): UTF-16 with a byte-order mark
// is decoded, classic Mac CR-only line ends become LF, and encodings it cannot read get one file-level message.
import { UnusableInputError } from "./input-format.ts";

const CR = 0x0d;
const LF = 0x0a;

/** What the first bytes say about the encoding and line ends. */
export type TextShape = "utf8" | "utf16le" | "utf16be" | "cr-lines";

/** Tells the shape from the head of the (decompressed) file; throws for encodings that cannot be read. */
export function textShape(head: Uint8Array, name: string): TextShape {
  const [a, b, c, d] = head;
  if (a === 0xff && b === 0xfe && c === 0 && d === 0) throw unsupported(name, "UTF-32 (little-endian)");
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) throw unsupported(name, "UTF-32 (big-endian)");
  if (a === 0xff && b === 0xfe) return "utf16le";
  if (a === 0xfe && b === 0xff) return "utf16be";
  // Text in UTF-16 without a byte-order mark has a NUL in every other byte of its ASCII characters.
  const sample = head.subarray(0, 4096);
  let nul = 0;
  for (const byte of sample) if (byte === 0) nul += 1;
  if (sample.length >= 16 && nul * 4 >= sample.length) {
    throw new UnusableInputError(
      `${name}: the file holds NUL bytes (${nul} in its first ${sample.length}): it looks like UTF-16 without a byte-order mark or a binary file; save it as UTF-8`,
    );
  }
  if (sample.includes(CR) && !head.includes(LF)) return "cr-lines";
  return "utf8";
}

function unsupported(name: string, encoding: string): UnusableInputError {
  return new UnusableInputError(
    `${name}: the file is ${encoding}, which prepare does not read; save it as UTF-8`,
  );
}

/** The chunks re-encoded as UTF-8 with LF or CRLF line ends, by the shape `textShape` found. */
export async function* normalizeText(
  chunks: AsyncIterable<Uint8Array>,
  shape: TextShape,
  name: string,
): AsyncGenerator<Uint8Array> {
  if (shape === "utf8") {
    yield* chunks;
    return;
  }
  if (shape === "cr-lines") {
    for await (const chunk of chunks) yield Buffer.from(chunk).map((byte) => (byte === CR ? LF : byte));
    return;
  }
  // The decoder drops the byte-order mark and keeps a character split across chunks until its second half comes.
  const decoder = new TextDecoder(shape === "utf16le" ? "utf-16le" : "utf-16be", { fatal: true });
  let bytes = 0;
  try {
    for await (const chunk of chunks) {
      const text = decoder.decode(chunk, { stream: true });
      bytes += chunk.length;
      if (text !== "") yield Buffer.from(text, "utf8");
    }
    const rest = decoder.decode();
    if (rest !== "") yield Buffer.from(rest, "utf8");
  } catch (err) {
    if (err instanceof TypeError) {
      throw new UnusableInputError(
        `${name}: the file starts with a UTF-16 byte-order mark but is not valid UTF-16 near byte ${bytes}`,
      );
    }
    throw err;
  }
}
