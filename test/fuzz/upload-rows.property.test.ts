// Fuzzing the upload door: whatever rows a JSONL or CSV file holds, nothing throws but a file-level UnusableInputError,
// every row read is kept or rejected with a reason, and no prepared number (features, statistics) is non-finite.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseUploadRow } from "../../gpu-jobs/prepare/upload-row.ts";
import { UnusableInputError } from "../../gpu-jobs/prepare/input-format.ts";
import { REJECT_REASONS } from "../../schemas/review.ts";
import { prepareFile } from "../prepare/helpers.ts";
import { allFinite, hostileNumber, mostly, RUNS } from "./support.ts";

const reviewRecord = fc.record(
  {
    rating: mostly(fc.integer({ min: 1, max: 5 }), hostileNumber),
    title: mostly(fc.string({ maxLength: 20 }), fc.constant(null)),
    text: mostly(
      fc.stringMatching(/^[a-z]{1,10}( [a-z]{1,10}){0,3}$/),
      fc.oneof(fc.constant("<br/>"), hostileNumber),
    ),
    user_id: mostly(fc.string({ maxLength: 6 }), fc.integer()),
    parent_asin: fc.string({ maxLength: 6 }),
    timestamp: mostly(fc.integer({ min: 0, max: 2_000_000_000_000 }), hostileNumber),
    // Side features are hostile half the time: they are what broke the statistics.
    price: mostly(fc.double({ min: 0, max: 500, noNaN: true }), hostileNumber, 1),
    helpful_vote: mostly(fc.nat(100), hostileNumber, 1),
    verified_purchase: mostly(fc.boolean(), hostileNumber),
    main_category: mostly(fc.string({ maxLength: 10 }), hostileNumber),
    sentiment_label: mostly(fc.constant(undefined), fc.constantFrom("POSITIVE", "neutral", "bad")),
  },
  { requiredKeys: ["rating", "text"] },
);

/** A JSONL line: a review (sometimes with a number JSON cannot write, like 1e400), or garbage. */
const jsonlLine = fc.oneof(
  { weight: 4, arbitrary: reviewRecord.map((r) => JSON.stringify(r)) },
  {
    weight: 1,
    arbitrary: reviewRecord.map((r) =>
      JSON.stringify({ ...r, price: 7 }).replace('"price":7', '"price":1e400'),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("{", "[1]", "null", '"text"', "{}", '{"text":1}') },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 30 }).filter((s) => !s.includes("\n") && !s.includes("\r")),
  },
);

const csvCell = fc
  .oneof(fc.string({ maxLength: 12 }), hostileNumber.map(String))
  .map((s) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s));
const CSV_COLUMNS = [
  "rating",
  "title",
  "text",
  "price",
  "helpful_vote",
  "verified_purchase",
  "main_category",
];
const csvLine = fc
  .array(csvCell, { minLength: 0, maxLength: CSV_COLUMNS.length + 1 })
  .map((cells) => cells.join(","));

function checkPrepared(p: Awaited<ReturnType<typeof prepareFile>>, lines: number): void {
  expect(p.stats.rowsRead).toBe(p.stats.rowsKept + p.stats.rowsRejected);
  expect(p.rejected).toHaveLength(p.stats.rowsRejected);
  expect(p.train.length + p.validation.length + p.test.length).toBe(p.stats.rowsKept);
  expect(p.stats.rowsRead).toBeLessThanOrEqual(lines);
  for (const r of p.rejected) {
    expect(REJECT_REASONS).toContain(r.reason);
    expect(r.message.length).toBeGreaterThan(0);
  }
  const byReason = Object.values(p.stats.rejectedByReason).reduce((a, b) => a + b, 0);
  expect(byReason).toBe(p.stats.rowsRejected);
  expect(allFinite(p.stats)).toBe(true);
  for (const row of [...p.train, ...p.validation, ...p.test]) expect(allFinite(row.features)).toBe(true);
}

async function prepared(
  name: string,
  content: string,
): Promise<Awaited<ReturnType<typeof prepareFile>> | null> {
  try {
    return await prepareFile({ name, content });
  } catch (err) {
    // A file-level refusal is a clear answer too; anything else is a crash.
    if (err instanceof UnusableInputError) return null;
    throw err;
  }
}

describe("fuzz: an upload row", () => {
  it("is parsed or rejected with a reason and a message, never thrown, and kept numbers are finite", () => {
    fc.assert(
      fc.property(
        fc.oneof(reviewRecord, fc.dictionary(fc.string({ maxLength: 8 }), hostileNumber)),
        (values) => {
          const outcome = parseUploadRow(values);
          if (outcome.ok) expect(allFinite(outcome.row)).toBe(true);
          else {
            expect(REJECT_REASONS).toContain(outcome.problem.reason);
            expect(outcome.problem.message).not.toBe("");
          }
        },
      ),
      { numRuns: RUNS.cheap },
    );
  });

  it("in a JSONL file is counted as kept or rejected, with finite features and statistics", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(jsonlLine, { minLength: 1, maxLength: 40 }), async (lines) => {
        const p = await prepared("f.jsonl", `${lines.join("\n")}\n`);
        if (p) checkPrepared(p, lines.length);
      }),
      { numRuns: RUNS.io },
    );
  });

  it("in a CSV file is counted as kept or rejected, with finite features and statistics", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(csvLine, { minLength: 1, maxLength: 30 }), async (lines) => {
        const p = await prepared("f.csv", `${[CSV_COLUMNS.join(","), ...lines].join("\n")}\n`);
        // Quoted cells may span lines, so a CSV record count is at most its physical lines.
        if (p) checkPrepared(p, lines.join("\n").split("\n").length);
      }),
      { numRuns: RUNS.io },
    );
  });
});
