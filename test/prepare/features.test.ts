// Side features: scaling statistics come from the training split only, and featureVector applies them.
import { describe, expect, it } from "vitest";
import { computeFeatureStats, featureVector } from "../../gpu-jobs/prepare/features.ts";
import { jsonl, prepareFile, review } from "./helpers.ts";

describe("computeFeatureStats", () => {
  it("fills a missing price with the median, then takes population mean and deviation", () => {
    const s = computeFeatureStats([1, Number.NaN, 3, 10], [0, 1, Number.NaN, 3]);
    expect(s.priceFill).toBe(3);
    const prices = [1, 3, 3, 10];
    const mean = prices.reduce((a, b) => a + b) / 4;
    expect(s.priceMean).toBeCloseTo(mean, 12);
    expect(s.priceStd).toBeCloseTo(Math.sqrt(prices.reduce((a, p) => a + (p - mean) ** 2, 0) / 4), 12);
    const logs = [0, 1, 0, 3].map(Math.log1p);
    const lm = logs.reduce((a, b) => a + b) / 4;
    expect(s.helpfulMean).toBeCloseTo(lm, 12);
    expect(s.helpfulStd).toBeCloseTo(Math.sqrt(logs.reduce((a, v) => a + (v - lm) ** 2, 0) / 4), 12);
  });

  it("uses a deviation of 1 for a constant feature and a fill of 0 when no price is known", () => {
    const s = computeFeatureStats([Number.NaN, Number.NaN], [Number.NaN, Number.NaN]);
    expect(s).toMatchObject({ priceFill: 0, priceMean: 0, priceStd: 1, helpfulMean: 0, helpfulStd: 1 });
  });
});

describe("featureVector", () => {
  const stats = { names: [], priceFill: 20, priceMean: 25, priceStd: 5, helpfulMean: 1, helpfulStd: 2 };
  it("standardises price and log1p votes and keeps flags as 0 or 1", () => {
    expect(featureVector({ price: 30, helpfulVote: Math.E - 1, verifiedPurchase: true }, stats)).toEqual([
      1, 0, 0, 1,
    ]);
    expect(featureVector({ price: null, helpfulVote: null, verifiedPurchase: null }, stats)).toEqual([
      -1, 1, -0.5, 0,
    ]);
  });
});

describe("prepare's features", () => {
  it("are scaled with statistics of the training split, not of all rows", async () => {
    // Price 1000 only on the test side would move all-row statistics a lot.
    const rows = Array.from({ length: 100 }, (_, i) =>
      review({
        user_id: `u${i}`,
        price: 10 + (i % 5),
        helpful_vote: i % 4,
        timestamp: 1_600_000_000_000 + i * 1000,
      }),
    );
    rows.push(review({ user_id: "late", price: 1000, timestamp: 1_700_000_000_000 }));
    const p = await prepareFile(
      { name: "f.jsonl", content: jsonl(rows) },
      { data: { splitMode: "chronological" } },
    );
    const trainPrices = p.train.map(
      (r) => rows.find((x) => r.id.startsWith(`${x.user_id as string}|`))!.price as number,
    );
    const expected = computeFeatureStats(
      trainPrices,
      p.train.map((r) =>
        Number(rows.find((x) => r.id.startsWith(`${x.user_id as string}|`))!.helpful_vote ?? 0),
      ),
    );
    expect(p.stats.featureStats).toEqual({ ...expected, present: expect.any(Object) });
    const late = p.test.find((r) => r.id.startsWith("late|"))!;
    expect(late.features[0]).toBeCloseTo((1000 - expected.priceMean) / expected.priceStd, 9);
  });
});

describe("which raw fields the data has", () => {
  it("counts the training rows that gave each field, so a field no row gives reads as absent", async () => {
    const rows = Array.from({ length: 40 }, (_, i) =>
      review({
        user_id: `u${i}`,
        // Every third row has a price; no row has helpful_vote; half say whether the purchase was verified.
        price: i % 3 === 0 ? 12 : null,
        ...(i % 2 === 0 ? { verified_purchase: i % 4 === 0 } : {}),
        timestamp: 1_600_000_000_000 + i * 1000,
      }),
    );
    const p = await prepareFile({ name: "fields.jsonl", content: jsonl(rows) });
    const train = p.train.map((r) => rows.find((x) => r.id.startsWith(`${x.user_id as string}|`))!);
    expect(p.stats.featureStats.present).toEqual({
      price: train.filter((r) => r.price !== null).length,
      helpful_vote: 0,
      verified_purchase: train.filter((r) => "verified_purchase" in r).length,
    });
    expect(p.stats.featureStats.present!.price).toBeGreaterThan(0);
    expect(p.stats.featureStats.present!.verified_purchase).toBeGreaterThan(0);
  });
});
