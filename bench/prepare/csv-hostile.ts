// The CSV reader on a file of crafted quotes against a clean file of the same lines and bytes, in one invocation:
// every crafted line closes the quoted field the last one opened and opens another, so from any line on the field
// never closes. Re-reading after each broken span is bounded (csv-records.ts), so the ratio stays flat as files grow.
//
//   npx tsx bench/prepare/csv-hostile.ts   (BENCH_CSV_HOSTILE_LINES=200000,400000; BENCH_CSV_ROUNDS=3)
import { CsvRecordReader } from "../../gpu-jobs/prepare/csv-records.ts";
import { LineSplitter } from "../../gpu-jobs/prepare/line-splitter.ts";

const SIZES = (process.env.BENCH_CSV_HOSTILE_LINES ?? "200000,400000").split(",").map(Number);
const ROUNDS = Number(process.env.BENCH_CSV_ROUNDS ?? 3);
const PAD = "p".repeat(50);

/** Reads `text` as prepare does (1 MiB record limit) and says how long it took and what it made. */
function read(text: Buffer): { ms: number; records: number; rejects: number } {
  const started = performance.now();
  const reader = new CsvRecordReader({ maxRecordBytes: 1 << 20 });
  const splitter = new LineSplitter();
  let records = 0;
  let rejects = 0;
  const count = (items: ReturnType<CsvRecordReader["push"]>) => {
    for (const i of items)
      if (i.kind === "record") records += 1;
      else rejects += 1;
  };
  for (let at = 0; at < text.length; at += 64 * 1024)
    for (const line of splitter.push(text.subarray(at, at + 64 * 1024))) count(reader.push(line));
  for (const line of splitter.end()) count(reader.push(line));
  count(reader.end());
  return { ms: performance.now() - started, records, rejects };
}

for (const lines of SIZES) {
  // Same line count and line length: `PAD","PAD` against `PAD,PAD` plus two characters.
  const crafted = Buffer.from(`a,b\n${`${PAD}","${PAD}\n`.repeat(lines)}`);
  const clean = Buffer.from(`a,b\n${`${PAD}xx,${PAD}\n`.repeat(lines)}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const [first, second] = round % 2 === 1 ? [clean, crafted] : [crafted, clean];
    const a = read(first);
    const b = read(second);
    const [c, h] = first === clean ? [a, b] : [b, a];
    console.log(
      JSON.stringify({
        lines,
        mib: +(crafted.length / 2 ** 20).toFixed(1),
        round,
        cleanMs: Math.round(c.ms),
        craftedMs: Math.round(h.ms),
        ratio: +(h.ms / c.ms).toFixed(2),
        clean: { records: c.records, rejects: c.rejects },
        crafted: { records: h.records, rejects: h.rejects },
      }),
    );
  }
}
