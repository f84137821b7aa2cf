// Implausible numbers in an upload (issue 13, item 1): a price of 1e200 or a vote count of 1e300 rejects its row with
// the field named, every good row is kept, and the scaling statistics stay finite whatever the input.
import { describe, expect, it } from "vitest";
import { computeFeatureStats, featureVector } from "../../gpu-jobs/prepare/features.ts";
import { parseUploadRow } from "../../gpu-jobs/prepare/upload-row.ts";
import { MAX_HELPFUL_VOTES, MAX_PRICE } from "../../schemas/review.ts";
import { jsonl, prepareFile, reviews } from "./helpers.ts";

function allFinite(stats: object): boolean {
  return Object.values(stats).every((v) => typeof v !== "number" || Number.isFinite(v));
}

describe("an implausible number in an upload row", () => {
  it("rejects the row as invalid_field naming the field, and keeps every good row", async () => {
    const good = reviews(60);
    const bad = [
      { ...good[0], user_id: "huge-price", price: 1e200 },
      { ...good[1], user_id: "huge-votes", helpful_vote: 1e300 },
      { ...good[2], user_id: "above-max", price: MAX_PRICE + 1 },
    ];
    // JSON cannot write Infinity; 1e400 parses to it.
    const overflow = JSON.stringify({ ...good[3], user_id: "overflow" }).replace(
      /"price":10/,
      '"price":1e400',
    );
    const p = await prepareFile(
      { name: "f.jsonl", content: jsonl([...good, ...bad, overflow]) },
      { data: { splitMode: "chronological" } },
    );
    expect(p.failure).toBeNull();
    expect(p.stats.rowsKept).toBe(60);
    expect(p.stats.rowsRejected).toBe(4);
    expect(p.stats.rowsRead).toBe(p.stats.rowsKept + p.stats.rowsRejected);
    expect(p.rejected.map((r) => [r.reason, r.field])).toEqual([
      ["invalid_field", "price"],
      ["invalid_field", "helpful_vote"],
      ["invalid_field", "price"],
      ["invalid_field", "price"],
    ]);
    expect(p.rejected[0]!.message).toBe(
      `price must be at most ${MAX_PRICE}; a larger value is not plausible`,
    );
    expect(p.rejected[3]!.message).toBe("price must be a finite number, got Infinity");
    expect(allFinite(p.stats.featureStats)).toBe(true);
    for (const r of [...p.train, ...p.validation, ...p.test])
      expect(r.features.every(Number.isFinite)).toBe(true);
  });

  it("rejects the same values in CSV cells", () => {
    const row = { rating: "5", text: "fine", price: "1e200", helpful_vote: "3" };
    expect(parseUploadRow(row)).toMatchObject({
      ok: false,
      problem: { reason: "invalid_field", field: "price" },
    });
    const votes = { rating: "5", text: "fine", helpful_vote: "99999999999" };
    expect(parseUploadRow(votes)).toMatchObject({ ok: false, problem: { field: "helpful_vote" } });
    expect(parseUploadRow({ rating: "5", text: "fine", price: String(MAX_PRICE) }).ok).toBe(true);
  });
});

describe("the scaling statistics", () => {
  it("are finite whatever values they are given, implausible ones counting as missing", () => {
    const s = computeFeatureStats([1e200, 10, 20, Infinity, -5, Number.MAX_VALUE], [1e300, 1, 2, Infinity]);
    expect(allFinite(s)).toBe(true);
    expect(s.priceFill).toBe(15);
    expect(s.priceMean).toBe(15);
    expect(computeFeatureStats([MAX_PRICE, MAX_PRICE / 2], [MAX_HELPFUL_VOTES, 0]).priceStd).toBe(
      MAX_PRICE / 4,
    );
  });

  it("scale an implausible value as missing, never to Infinity or NaN", () => {
    const stats = { names: [], priceFill: 20, priceMean: 25, priceStd: 5, helpfulMean: 1, helpfulStd: 2 };
    expect(featureVector({ price: 1e200, helpfulVote: 1e300, verifiedPurchase: null }, stats)).toEqual(
      featureVector({ price: null, helpfulVote: null, verifiedPurchase: null }, stats),
    );
    const tiny = { ...stats, priceStd: 1e-300 };
    expect(
      featureVector({ price: 30, helpfulVote: 0, verifiedPurchase: true }, tiny).every(Number.isFinite),
    ).toBe(true);
  });
});
