// csv-parse (a well-kept CSV library) against prepare's own CSV reader (csv-records.ts): the same malformed lines,
// then throughput on a generated corpus written as RFC 4180 CSV, in alternating rounds of one invocation.
//
//   npm i csv-parse --prefix /tmp/csvbench   (not a dependency of this repo: only this measurement loads it)
//   CSV_PARSE_DIR=/tmp/csvbench npx tsx bench/prepare/csv-library.ts   (BENCH_CSV_ROWS=200000, BENCH_CSV_ROUNDS=5)
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CsvRecordReader, type CsvItem } from "../../gpu-jobs/prepare/csv-records.ts";
import { LineSplitter } from "../../gpu-jobs/prepare/line-splitter.ts";
import { generateReviews } from "../../gpu-jobs/prepare/generator/generate-reviews.ts";

const ROWS = Number(process.env.BENCH_CSV_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_CSV_ROUNDS ?? 5);
const CHUNK = 64 * 1024;

/** The part of csv-parse's streaming API used here. */
interface CsvParseError extends Error {
  code?: string;
  lines?: number;
}
interface Parser {
  on(event: "data", f: (r: { record: string[]; info: { lines: number } }) => void): Parser;
  on(event: "skip", f: (err: CsvParseError) => void): Parser;
  on(event: "error", f: (err: CsvParseError) => void): Parser;
  on(event: "end", f: () => void): Parser;
  write(chunk: Buffer): boolean;
  end(): void;
}
type ParseFn = (options: Record<string, unknown>) => Parser;

async function loadCsvParse(): Promise<{ parse: ParseFn; version: string }> {
  const dir = process.env.CSV_PARSE_DIR;
  if (!dir)
    throw new Error("set CSV_PARSE_DIR to a folder where `npm i csv-parse --prefix DIR` installed it");
  const root = join(dir, "node_modules", "csv-parse");
  const mod = (await import(pathToFileURL(join(root, "lib", "index.js")).href)) as { parse: ParseFn };
  const pkg = (await import(pathToFileURL(join(root, "package.json")).href, { with: { type: "json" } })) as {
    default: { version: string };
  };
  return { parse: mod.parse, version: pkg.default.version };
}

/** What a parser made of a file: records (first line, fields) and rejects (first line, why). */
interface Outcome {
  records: { line: number; fields: string[] }[];
  rejects: { line: number; why: string }[];
}

function ours(chunks: Buffer[], keep: boolean): Outcome {
  const out: Outcome = { records: [], rejects: [] };
  const splitter = new LineSplitter();
  const reader = new CsvRecordReader({ maxRecordBytes: 1 << 20 });
  const take = (items: CsvItem[]) => {
    for (const i of items)
      if (i.kind === "record") {
        if (keep) out.records.push({ line: i.line, fields: i.fields });
        else out.records.length++;
      } else out.rejects.push({ line: i.line, why: i.message });
  };
  for (const c of chunks) for (const l of splitter.push(c)) take(reader.push(l));
  for (const l of splitter.end()) take(reader.push(l));
  take(reader.end());
  return out;
}

/** csv-parse configured to keep going past bad records, as prepare must: each skipped record is a reject. */
function theirs(parse: ParseFn, chunks: Buffer[], keep: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { records: [], rejects: [] };
    let header = true;
    let lastLine = 1;
    // `info` (line numbers) only where they are checked: the timed runs parse without it, csv-parse's fastest way.
    const parser = parse({ skip_records_with_error: true, skip_empty_lines: true, info: keep, bom: true });
    parser.on("data", (data) => {
      if (!keep) {
        if (header) header = false;
        else out.records.length++;
        return;
      }
      const { record, info } = data;
      const line = lastLine;
      lastLine = info.lines + 1;
      if (header) return void (header = false);
      out.records.push({ line, fields: record });
    });
    parser.on("skip", (err) => {
      out.rejects.push({ line: err.lines ?? -1, why: `${err.code}: ${err.message}` });
    });
    parser.on("error", (err) => {
      // A fatal error (an unclosed quote at the end of the file): everything after it is lost.
      out.rejects.push({ line: err.lines ?? -1, why: `fatal ${err.code}: ${err.message}` });
      resolve(out);
    });
    parser.on("end", () => resolve(out));
    for (const c of chunks) parser.write(c);
    parser.end();
  });
}

/** The CSV-level cases of test/prepare/malformed-csv.test.ts (the rows prepare rejects for their values aside). */
function badInput(): { text: string; keep: string[]; rejectLines: number[] } {
  const header = "rating,title,text,parent_asin,user_id,timestamp,main_category,price,sentiment_label";
  const row = (user: string, rest = "5,Fine,Plain text") => `${rest},B1,${user},1600000000000,Home,9.5,`;
  const lines = [
    header,
    row("u1"),
    `4,"Nice, really","Line one\nline two, with a comma",B1,u2,1600000000000,Home,10,`,
    `3,"He said ""wow""","A ""quoted"" word",B1,u3,1600000000000,"Home, Kitchen",,`,
    "5,Too,few,fields", // line 6
    `5,"closed"x,text,B1,bad1,1600000000000,Home,1,`, // line 7
    `5,"never closed,text,B1,bad2,1600000000000,Home,1,`, // line 8
    row("u4"),
    `5,"CRLF inside","one\r\ntwo",B1,u7,1600000000000,Home,1,\r`,
    row("u8") + "\r",
    "",
    row("u9"),
  ];
  return {
    text: `${lines.join("\n")}\n`,
    keep: ["u1", "u2", "u3", "u4", "u7", "u8", "u9"],
    rejectLines: [6, 7, 8],
  };
}

function cellText(v: unknown): string {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
}

function csvCell(s: string): string {
  return /[",\r\n]/.test(s) || s === "" ? `"${s.replace(/"/g, '""')}"` : s;
}

function corpus(rows: number): Buffer {
  const columns = [
    "rating",
    "title",
    "text",
    "parent_asin",
    "user_id",
    "timestamp",
    "main_category",
    "price",
  ];
  const parts: string[] = [columns.join(",")];
  for (const r of generateReviews({ rows, seed: 1, scenario: "clean" })) {
    const o = r as unknown as Record<string, unknown>;
    parts.push(columns.map((c) => csvCell(cellText(o[c]))).join(","));
  }
  return Buffer.from(`${parts.join("\n")}\n`);
}

function chunked(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += CHUNK) out.push(b.subarray(i, i + CHUNK));
  return out;
}

const { parse, version } = await loadCsvParse();

console.log(`# bad input (the CSV-level cases of test/prepare/malformed-csv.test.ts)`);
const bad = badInput();
const user = (o: Outcome) => o.records.map((r) => r.fields[4] ?? "?");
for (const [name, o] of [
  ["csv-records.ts", ours([Buffer.from(bad.text)], true)],
  [`csv-parse ${version}`, await theirs(parse, [Buffer.from(bad.text)], true)],
] as const) {
  const rejectLines = o.rejects.map((r) => r.line);
  const pass =
    JSON.stringify(user(o)) === JSON.stringify(bad.keep) &&
    JSON.stringify(rejectLines) === JSON.stringify(bad.rejectLines);
  console.log(`${name}: ${pass ? "PASS" : "FAIL"}`);
  console.log(`  kept ${JSON.stringify(user(o))} (expected ${JSON.stringify(bad.keep)})`);
  for (const r of o.rejects) console.log(`  reject line ${r.line}: ${r.why}`);
}

console.log(`\n# throughput: ${ROWS} generated reviews as CSV, ${ROUNDS} rounds, alternating order`);
const data = corpus(ROWS);
const chunks = chunked(data);
console.log(
  `corpus: ${(data.length / 2 ** 20).toFixed(1)} MiB, ${chunks.length} chunks of ${CHUNK / 1024} KiB`,
);
// Warm both (JIT) before timing.
ours(chunks.slice(0, 20), false);
await theirs(parse, chunks.slice(0, 20), false);
const ratios: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const time = async (f: () => Outcome | Promise<Outcome>) => {
    const t = performance.now();
    const o = await f();
    return { ms: performance.now() - t, records: o.records.length, rejects: o.rejects.length };
  };
  const order = round % 2 === 1 ? ["ours", "theirs"] : ["theirs", "ours"];
  const result: Record<string, Awaited<ReturnType<typeof time>>> = {};
  for (const who of order)
    result[who] = await time(() => (who === "ours" ? ours(chunks, false) : theirs(parse, chunks, false)));
  const a = result.ours!;
  const b = result.theirs!;
  if (a.records !== ROWS || b.records !== ROWS)
    throw new Error(`records: ours ${a.records}, csv-parse ${b.records}`);
  ratios.push(b.ms / a.ms);
  console.log(
    `round ${round}: csv-records.ts ${a.ms.toFixed(0)} ms (${((ROWS / a.ms) * 1000).toFixed(0)} rows/s), csv-parse ${b.ms.toFixed(0)} ms (${((ROWS / b.ms) * 1000).toFixed(0)} rows/s): csv-parse takes ${(b.ms / a.ms).toFixed(2)}x`,
  );
}
const sorted = [...ratios].sort((x, y) => x - y);
console.log(
  `csv-parse time / csv-records.ts time: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}x, min ${sorted[0]!.toFixed(2)}x, max ${sorted.at(-1)!.toFixed(2)}x`,
);
