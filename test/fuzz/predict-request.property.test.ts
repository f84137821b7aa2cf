// Fuzzing the serving door: any JSON body is either refused with a 4xx naming the problem, or becomes reviews whose
// scaled side features are all finite, so NaN cannot reach the model or the answer.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePredictRequest } from "../../serving/predict-request.ts";
import { prepareInstance } from "../../serving/prepare-instance.ts";
import { HttpError } from "../../serving/http-error.ts";
import { allFinite, hostileNumber, mostly, RUNS } from "./support.ts";

const STATS = {
  names: [],
  priceFill: 19.99,
  priceMean: 27.5,
  priceStd: 14,
  helpfulMean: 0.4,
  helpfulStd: 0.8,
};

const instance = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        text: mostly(fc.stringMatching(/^[a-z]{1,10}( [a-z]{1,10}){0,3}$/), hostileNumber),
        title: mostly(fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null)), hostileNumber),
        price: mostly(
          fc.oneof(fc.double({ min: 0, max: 500, noNaN: true }), fc.constant(null)),
          hostileNumber,
          1,
        ),
        helpful_vote: mostly(fc.oneof(fc.nat(100), fc.constant(null)), hostileNumber, 1),
        verified_purchase: mostly(fc.oneof(fc.boolean(), fc.constant(null)), hostileNumber),
      },
      { requiredKeys: ["text"] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue() },
);

const body = fc.oneof(
  { weight: 6, arbitrary: fc.record({ instances: fc.array(instance, { minLength: 1, maxLength: 4 }) }) },
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
