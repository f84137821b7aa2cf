// Line splitting over arbitrary chunk boundaries: line numbers, CRLF, a leading BOM, overlong lines skipped with
// only their head kept, and bytes that are not UTF-8.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineSplitter, type Line } from "../../gpu-jobs/prepare/line-splitter.ts";

function split(chunks: Buffer[], options = {}): Line[] {
  const s = new LineSplitter(options);
  return [...chunks.flatMap((c) => s.push(c)), ...s.end()];
}

describe("LineSplitter", () => {
  it("gives the same lines however the bytes are chunked", () => {
    const text = "first\r\nsecond, é ü\n\nlast without newline";
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }), (cuts) => {
        const bytes = Buffer.from(text);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          chunks.push(bytes.subarray(at, Math.min(bytes.length, at + c)));
          at = Math.min(bytes.length, at + c);
        }
        chunks.push(bytes.subarray(at));
        expect(split(chunks).map((l) => [l.number, l.text, l.problem])).toEqual([
          [1, "first", null],
          [2, "second, é ü", null],
          [3, "", null],
          [4, "last without newline", null],
        ]);
      }),
    );
  });

  it("drops a UTF-8 byte order mark at the start", () => {
    expect(split([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a,b\n")]).map((l) => l.text)).toEqual([
      "a,b",
    ]);
  });

  it("reports a line over the cap with its size and head, and carries on with the next line", () => {
    const long = Buffer.alloc(5000, "x");
    const lines = split(
      [Buffer.from("ok\n"), long.subarray(0, 1000), long.subarray(1000), Buffer.from("\nnext\n")],
      {
        maxLineBytes: 2048,
        keepBytes: 100,
      },
    );
    expect(lines.map((l) => [l.number, l.problem, l.bytes, l.text.length])).toEqual([
      [1, null, 2, 2],
      [2, "line_too_long", 5000, 100],
      [3, null, 4, 4],
    ]);
  });

  it("marks lines with bytes that are not UTF-8, and not those that hold a real U+FFFD", () => {
    const lines = split([
      Buffer.concat([Buffer.from("bad "), Buffer.from([0xc3, 0x28]), Buffer.from("\nreal \uFFFD\n")]),
    ]);
    expect(lines.map((l) => l.problem)).toEqual(["invalid_utf8", null]);
  });
});
