// The side features of the original model, scaled with training-split statistics: one pure function that the
// prepare job and serving both call, so that a request is scaled exactly as the training rows were.
import { FEATURE_NAMES, FeatureStats, MAX_HELPFUL_VOTES, MAX_PRICE } from "../../schemas/review.ts";

/** A review's side features as uploaded; null where the upload has no value. */
export interface RawFeatures {
  price: number | null;
  helpfulVote: number | null;
  verifiedPurchase: boolean | null;
}

/**
 * `[price, price_missing, helpful_vote, verified_purchase]`: a missing price is filled with the training median
 * and then standardised like the others; helpful votes are log1p'd (missing is 0) and standardised; the two
 * flags are 0 or 1 (a missing verified_purchase is 0).
 */
export function featureVector(raw: RawFeatures, stats: FeatureStats): number[] {
  const priceMissing = !plausiblePrice(raw.price);
  const price = priceMissing ? stats.priceFill : raw.price!;
  const helpful = Math.log1p(plausibleVotes(raw.helpfulVote) ? raw.helpfulVote! : 0);
  return [
    finite((price - stats.priceMean) / stats.priceStd),
    priceMissing ? 1 : 0,
    finite((helpful - stats.helpfulMean) / stats.helpfulStd),
    raw.verifiedPurchase === true ? 1 : 0,
  ];
}

// Upload rows and requests refuse implausible values before they get here; these guards keep the scaling finite for
// any caller, since one Infinity in the training split would make the statistics (and every feature) unusable.
const plausiblePrice = (p: number | null): boolean => p !== null && p >= 0 && p <= MAX_PRICE;
const plausibleVotes = (v: number | null): boolean => v !== null && v > 0 && v <= MAX_HELPFUL_VOTES;
/** Scaled values stay well inside float32, which the model computes in. */
const LIMIT = 1e6;
const finite = (x: number): number => (Number.isNaN(x) ? 0 : Math.max(-LIMIT, Math.min(LIMIT, x)));

/**
 * Statistics from the training rows' raw values (NaN where missing; an implausible value counts as missing, so the
 * result is finite whatever the input). Standard deviations are population ones (as scikit-learn's StandardScaler),
 * and 1 where a feature is constant so that scaling never divides by zero.
 */
export function computeFeatureStats(
  prices: ArrayLike<number>,
  helpfulVotes: ArrayLike<number>,
): FeatureStats {
  const known = new Float64Array(prices.length);
  let k = 0;
  for (let i = 0; i < prices.length; i++) if (plausiblePrice(prices[i]!)) known[k++] = prices[i]!;
  const priceFill = k === 0 ? 0 : median(known.subarray(0, k).sort());
  const price = meanStd(prices.length, (i) => {
    const p = prices[i]!;
    return plausiblePrice(p) ? p : priceFill;
  });
  const helpful = meanStd(helpfulVotes.length, (i) => {
    const h = helpfulVotes[i]!;
    return Math.log1p(plausibleVotes(h) ? h : 0);
  });
  return FeatureStats.parse({
    names: [...FEATURE_NAMES],
    priceFill,
    priceMean: price.mean,
    priceStd: price.std,
    helpfulMean: helpful.mean,
    helpfulStd: helpful.std,
  });
}

function median(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Two-pass mean and standard deviation, steadier than sums of squares on large counts. */
function meanStd(n: number, value: (i: number) => number): { mean: number; std: number } {
  if (n === 0) return { mean: 0, std: 1 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += value(i);
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = value(i) - mean;
    sq += d * d;
  }
  const std = Math.sqrt(sq / n);
  return { mean, std: std > 1e-12 ? std : 1 };
}
