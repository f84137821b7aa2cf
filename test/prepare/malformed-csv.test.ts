// A CSV upload with quoted fields, embedded line breaks and broken records: each broken record is rejected with
// its reason and line, parsing picks up again right after it, and every valid row survives.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvRecordReader } from "../../gpu-jobs/prepare/csv-records.ts";
import { LineSplitter } from "../../gpu-jobs/prepare/line-splitter.ts";
import { prepareFile } from "./helpers.ts";

const HEADER = "rating,title,text,parent_asin,user_id,timestamp,main_category,price,sentiment_label";
const row = (user: string, rest = "5,Fine,Plain text") => `${rest},B1,${user},1600000000000,Home,9.5,`;

const LINES: { text: string | Buffer; reason?: string }[] = [
  { text: HEADER },
  { text: row("u1") },
  { text: `4,"Nice, really","Line one\nline two, with a comma",B1,u2,1600000000000,Home,10,` },
  { text: `3,"He said ""wow""","A ""quoted"" word",B1,u3,1600000000000,"Home, Kitchen",,` },
  { text: "5,Too,few,fields", reason: "invalid_csv" },
  { text: `5,"closed"x,text,B1,bad1,1600000000000,Home,1,`, reason: "invalid_csv" },
  { text: `5,"never closed,text,B1,bad2,1600000000000,Home,1,`, reason: "invalid_csv" },
  { text: row("u4") },
  { text: row("u5", "1,Bad,Words") },
  {
    text: Buffer.concat([
      Buffer.from("5,Bad,bytes "),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(",B1,bad3,1600000000000,Home,1,"),
    ]),
    reason: "invalid_utf8",
  },
  { text: `1,Label wins,Text,B1,u6,1600000000000,Home,1,POSITIVE` },
  { text: `5,Bad label,Text,B1,bad4,1600000000000,Home,1,GREAT`, reason: "invalid_label" },
  { text: `9,Out of range,Text,B1,bad5,1600000000000,Home,1,`, reason: "invalid_rating" },
  { text: `5,"CRLF inside","one\r\ntwo",B1,u7,1600000000000,Home,1,\r` },
  { text: row("u8") + "\r" },
  { text: "" },
  { text: row("u9") },
];

function content(): Buffer {
  return Buffer.concat(LINES.map((l) => Buffer.concat([Buffer.from(l.text), Buffer.from("\n")])));
}

/** Physical line (1-based) on which each entry of LINES starts. */
function startLines(): number[] {
  let line = 1;
  return LINES.map((l) => {
    const at = line;
    line += l.text.toString().split("\n").length;
    return at;
  });
}

describe("prepare on malformed CSV", () => {
  it("rejects each broken record with its reason at the line it starts on", async () => {
    const p = await prepareFile({ name: "corpus.csv", content: content() });
    const starts = startLines();
    const expected = LINES.flatMap((l, i) => (l.reason ? [{ line: starts[i], reason: l.reason }] : []));
    expect(p.rejected.map((r) => ({ line: r.line, reason: r.reason }))).toEqual(expected);
    expect(p.rejected.find((r) => r.reason === "invalid_csv")!.message).toMatch(
      /4 fields where the header has 9/,
    );
  });

  it("keeps the valid rows, including those after an unclosed quote, with quoted cells intact", async () => {
    const p = await prepareFile({ name: "corpus.csv", content: content() });
    const kept = new Map([...p.train, ...p.validation, ...p.test].map((r) => [r.id.split("|")[0]!, r]));
    expect([...kept.keys()].sort()).toEqual(["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"]);
    expect(kept.get("u2")).toMatchObject({ title: "Nice, really", text: "Line one line two, with a comma" });
    expect(kept.get("u3")).toMatchObject({ title: 'He said "wow"', text: 'A "quoted" word' });
    expect(kept.get("u3")!.slices.main_category).toBe("Home, Kitchen");
    expect(kept.get("u6")).toMatchObject({ label: "POSITIVE", rating: 1 });
    expect(kept.get("u7")!.text).toBe("one two");
    expect(p.stats).toMatchObject({
      format: "csv",
      schema: "labeled-csv",
      rowsRead: 15,
      rowsKept: 9,
      rowsRejected: 6,
    });
  });

  it("gives up on a quoted field that never closes and parses the following lines again", () => {
    const reader = new CsvRecordReader({ maxRecordBytes: 1 << 20 });
    const splitter = new LineSplitter();
    const text = 'a,b\n1,"open\n2,x\n3,y\n';
    const items = [...splitter.push(Buffer.from(text)), ...splitter.end()].flatMap((l) => reader.push(l));
    items.push(...reader.end());
    expect(items.map((i) => (i.kind === "record" ? i.fields : `${i.reason}@${i.line}`))).toEqual([
      "invalid_csv@2",
      ["2", "x"],
      ["3", "y"],
    ]);
  });

  /** Every item the reader makes of `text`, records as their fields, rejects as `reason@line`. */
  const readAll = (text: string, maxRecordBytes = 1 << 20) => {
    const reader = new CsvRecordReader({ maxRecordBytes });
    const splitter = new LineSplitter();
    const items = [...splitter.push(Buffer.from(text)), ...splitter.end()].flatMap((l) => reader.push(l));
    items.push(...reader.end());
    return items;
  };

  it("accounts for every line after a second quoted field left open to the end of the file", () => {
    // `x","y` opens a quoted field whether one was open before or not: line 3 opens one to the end of the file, and
    // so does line 4 when it is read again. Both are rejected, and line 5 is read as the record it is.
    const items = readAll('a,b\n1,ok\nx","y\nx","y\n2,fine\n');
    expect(items.map((i) => (i.kind === "record" ? i.fields : `${i.reason}@${i.line}`))).toEqual([
      ["1", "ok"],
      "invalid_csv@3",
      "invalid_csv@4",
      ["2", "fine"],
    ]);
  });

  it("reads on after an unclosed quote followed by a megabyte of short lines (it overflowed the stack)", () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `${i},3`);
    const items = readAll(`a,b\n"open,5\n${lines.join("\n")}\n`);
    expect(items.filter((i) => i.kind === "reject").map((i) => i.line)).toEqual([2]);
    expect(items.filter((i) => i.kind === "record")).toHaveLength(200_000);
  });

  it("stops re-reading a file of crafted quotes past its budget, and still rejects each line with its number", () => {
    // Each line closes the quote the last one opened and opens another: from any line on, the field never closes.
    const crafted = `${"p".repeat(50)}","${"p".repeat(50)}\n`.repeat(30_000);
    const items = readAll(`a,b\n1,ok\n${crafted}2,fine\n`, 64 * 1024);
    const rejects = items.filter((i) => i.kind === "reject");
    expect(rejects.map((i) => i.line)).toEqual(Array.from({ length: 30_001 }, (_, i) => i + 3));
    expect(rejects.at(-1)!.message).toMatch(
      /^inside the quoted field opened on line \d+ \(.*\); not read again: the file has too many broken quotes to resynchronise$/,
    );
    expect(items.filter((i) => i.kind === "record").map((i) => i.kind === "record" && i.fields)).toEqual([
      ["1", "ok"],
    ]);
  });

  it("parses any fields written with RFC 4180 quoting back to the same fields", () => {
    const cell = fc.string({ unit: fc.constantFrom("a", "b", ",", '"', "\n", " ", "é", "1"), maxLength: 12 });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        (records) => {
          const quote = (s: string): string =>
            /[",\n]/.test(s) || s === "" ? `"${s.replace(/"/g, '""')}"` : s;
          const text = ["x,y,z", ...records.map((r) => r.map(quote).join(","))].join("\n") + "\n";
          const reader = new CsvRecordReader({ maxRecordBytes: 1 << 20 });
          const splitter = new LineSplitter();
          const items = [...splitter.push(Buffer.from(text)), ...splitter.end()].flatMap((l) =>
            reader.push(l),
          );
          items.push(...reader.end());
          expect(items.map((i) => (i.kind === "record" ? i.fields : i))).toEqual(records);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("fails on a header without the text or rating column, naming the file and the columns it found", async () => {
    await expect(prepareFile({ name: "nohead.csv", content: "stars,body\n5,good\n" })).rejects.toThrow(
      /nohead\.csv: the CSV header has no column text, rating \(columns: stars, body\)/,
    );
  });
});
