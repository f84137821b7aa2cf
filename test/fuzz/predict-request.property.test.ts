// Fuzzing the serving door: any JSON body is either refused with a 4xx naming the problem, or becomes reviews whose
// scaled side features are all finite, so NaN cannot reach the model or the answer.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePredictRequest } from "../../functions/predict/predict-request.ts";
import { prepareInstance } from "../../functions/predict/prepare-instance.ts";
import { HttpError } from "../../functions/predict/http-error.ts";
import { allFinite, hostileNumber, RUNS } from "./support.ts";

const STATS = {
  names: [],
  priceFill: 19.99,
  priceMean: 27.5,
  priceStd: 14,
  helpfulMean: 0.4,
  helpfulStd: 0.8,
};

const instance = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.record(
    {
      text: fc.oneof(fc.string({ maxLength: 20 }), hostileNumber),
      title: fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null), hostileNumber),
      price: fc.oneof(hostileNumber, fc.constant(null)),
      helpful_vote: fc.oneof(hostileNumber, fc.constant(null)),
      verified_purchase: fc.oneof(fc.boolean(), fc.constant(null), hostileNumber),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
);

const body = fc.oneof(
  fc.record({ instances: fc.array(instance, { maxLength: 6 }) }),
  fc.record({ texts: fc.array(fc.oneof(fc.string({ maxLength: 10 }), hostileNumber), { maxLength: 6 }) }),
  fc.record({ instances: fc.array(instance, { maxLength: 3 }), parameters: fc.jsonValue() }),
  fc.jsonValue(),
);

describe("fuzz: a predict request", () => {
  it("is refused with a 4xx naming the problem, or prepared into finite features", () => {
    fc.assert(
      fc.property(body, fc.boolean(), (b, withFeatures) => {
        try {
          const { field, instances } = parsePredictRequest(b, { maxInstances: 4 });
          instances.forEach((x, i) => {
            const review = prepareInstance(x, withFeatures ? STATS : null, `${field}[${i}]`);
            // Finite as the model sees them: it computes in float32, where 1e200 is Infinity.
            if (review.features) expect(allFinite(review.features.map(Math.fround))).toBe(true);
          });
        } catch (err) {
          expect(err).toBeInstanceOf(HttpError);
          const e = err as HttpError;
          expect(e.status).toBeGreaterThanOrEqual(400);
          expect(e.status).toBeLessThan(500);
          expect(e.message).not.toBe("");
        }
      }),
      { numRuns: RUNS.cheap },
    );
  });
});
