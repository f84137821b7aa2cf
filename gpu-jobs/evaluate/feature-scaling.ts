// Moves scaled side features from one set of training statistics to another, for a model trained on other data.
import type { FeatureStats } from "../../schemas/review.ts";

/**
 * The prepare step scales [price, price_missing, helpful_vote, verified_purchase] as (price - priceMean) / priceStd
 * with a missing price filled by priceFill, (log1p(votes) - helpfulMean) / helpfulStd, and two 0/1 flags
 * (gpu-jobs/prepare/features.ts). A model expects its own training statistics (its metadata's `features`), so a
 * champion trained on another upload gets the rows rescaled: undo `from`, apply `to`, a missing price refilled with
 * `to`'s fill.
 */
export function rescaleFeatures(features: readonly number[], from: FeatureStats, to: FeatureStats): number[] {
  const [price, priceMissing, helpful, verified] = features;
  if (price === undefined || priceMissing === undefined || helpful === undefined || verified === undefined) {
    throw new Error(`expected 4 side features, got ${features.length}`);
  }
  const rawPrice = priceMissing === 1 ? to.priceFill : price * from.priceStd + from.priceMean;
  const logHelpful = helpful * from.helpfulStd + from.helpfulMean;
  return [
    (rawPrice - to.priceMean) / to.priceStd,
    priceMissing,
    (logHelpful - to.helpfulMean) / to.helpfulStd,
    verified,
  ];
}

export function sameScaling(a: FeatureStats, b: FeatureStats): boolean {
  return (
    a.names.join(",") === b.names.join(",") &&
    a.priceFill === b.priceFill &&
    a.priceMean === b.priceMean &&
    a.priceStd === b.priceStd &&
    a.helpfulMean === b.helpfulMean &&
    a.helpfulStd === b.helpfulStd
  );
}
