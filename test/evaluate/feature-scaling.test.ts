// Rescaling side features between two sets of training statistics equals scaling the raw values with the second.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rescaleFeatures, sameScaling } from "../../gpu-jobs/evaluate/feature-scaling.ts";
import { featureVector } from "../../gpu-jobs/prepare/features.ts";
import { FEATURE_NAMES, type FeatureStats } from "../../schemas/review.ts";

/** The prepare step's own scaling: rescaling must invert exactly what it does. */
function scale(price: number | null, votes: number, verified: boolean, s: FeatureStats): number[] {
  return featureVector({ price, helpfulVote: votes, verifiedPurchase: verified }, s);
}

const stats = fc.record({
  names: fc.constant<string[]>([...FEATURE_NAMES]),
  priceFill: fc.double({ min: 1, max: 200, noNaN: true }),
  priceMean: fc.double({ min: 1, max: 200, noNaN: true }),
  priceStd: fc.double({ min: 0.5, max: 100, noNaN: true }),
  helpfulMean: fc.double({ min: 0, max: 3, noNaN: true }),
  helpfulStd: fc.double({ min: 0.1, max: 3, noNaN: true }),
});

describe("rescaleFeatures", () => {
  it("turns rows scaled with one run's statistics into rows scaled with another's", () => {
    fc.assert(
      fc.property(
        stats,
        stats,
        fc.option(fc.double({ min: 0, max: 500, noNaN: true }), { nil: null }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        (a, b, price, votes, verified) => {
          const moved = rescaleFeatures(scale(price, votes, verified, a), a, b);
          scale(price, votes, verified, b).forEach((v, i) => expect(moved[i]).toBeCloseTo(v, 6));
        },
      ),
    );
  });

  it("knows identical statistics", () => {
    const s: FeatureStats = {
      names: [...FEATURE_NAMES],
      priceFill: 10,
      priceMean: 12,
      priceStd: 3,
      helpfulMean: 0.2,
      helpfulStd: 0.5,
    };
    expect(sameScaling(s, { ...s })).toBe(true);
    expect(sameScaling(s, { ...s, priceStd: 3.5 })).toBe(false);
  });
});
