// The shared real samples: the JSONL and the labeled CSV hold the same 2,990 reviews, so preparing either gives
// the same kept rows, labels, features and splits.
import { describe, expect, it } from "vitest";
import type { PreparedReview } from "../../schemas/review.ts";
import { prepareFile, sharedSamples, type Prepared } from "./helpers.ts";

const samples = sharedSamples();
const withoutLine = ({ line: _line, ...rest }: PreparedReview) => rest;

describe.skipIf(samples === null)("prepare on the shared samples", () => {
  if (samples === null) {
    console.warn("skipping the shared-sample tests: ../shared/data not found and REVIEWS_SAMPLE not set");
    return;
  }
  let fromJsonl: Prepared;
  let fromCsv: Prepared;
  it("reads all 2,990 rows of both files", async () => {
    fromJsonl = await prepareFile(samples.jsonl);
    fromCsv = await prepareFile(samples.csv);
    for (const p of [fromJsonl, fromCsv]) {
      expect(p.stats.rowsRead).toBe(2990);
      expect(p.stats.rowsKept + p.stats.rowsRejected).toBe(2990);
      expect(p.failure).toBeNull();
    }
    expect(fromJsonl.stats).toMatchObject({
      format: "jsonl",
      schema: "amazon-2023",
      labelSource: { column: 0 },
    });
    expect(fromCsv.stats).toMatchObject({ format: "csv", schema: "labeled-csv", labelSource: { rating: 0 } });
  });

  it("keeps the same rows with the same splits from the JSONL and the CSV", () => {
    for (const split of ["train", "validation", "test"] as const) {
      expect(fromCsv[split].map(withoutLine)).toEqual(fromJsonl[split].map(withoutLine));
    }
    expect(fromCsv.stats.fingerprint).toBe(fromJsonl.stats.fingerprint);
    expect(fromCsv.stats.splits).toEqual(fromJsonl.stats.splits);
    expect(fromCsv.stats.featureStats).toEqual(fromJsonl.stats.featureStats);
    expect(fromCsv.rejected.map((r) => [r.reason, r.line - 1])).toEqual(
      fromJsonl.rejected.map((r) => [r.reason, r.line]),
    );
  });

  it("matches the file: ratings, labels, slices and the rows it had to drop", () => {
    const all = [...fromJsonl.train, ...fromJsonl.validation, ...fromJsonl.test];
    // The two rows whose text is blank are the only ones dropped.
    expect(fromJsonl.stats.rejectedByReason).toEqual({ missing_text: 2 });
    const byRating = new Map<number, number>();
    for (const r of all) byRating.set(r.rating, (byRating.get(r.rating) ?? 0) + 1);
    expect(Object.fromEntries(byRating)).toEqual({ 5: 2028, 4: 403, 3: 220, 2: 121, 1: 216 });
    const s = fromJsonl.stats.splits;
    expect(s.train.rows + s.validation.rows + s.test.rows).toBe(2988);
    expect(s.test.byLabel).toEqual({ NEGATIVE: 34, NEUTRAL: 22, POSITIVE: 243 });
    expect(Object.values(s.test.bySlice.main_category!).reduce((a, b) => a + b)).toBe(s.test.rows);
    const unknown = ["train", "validation", "test"].reduce(
      (n, k) => n + (s[k as "train"].bySlice.main_category!.unknown ?? 0),
      0,
    );
    expect(unknown).toBe(38);
    expect(all.every((r) => /^20(0[6-9]|1\d|2[0-3])$/.test(r.slices.year!))).toBe(true);
    expect(all.every((r) => !/<br/i.test(r.text))).toBe(true);
  });
});
