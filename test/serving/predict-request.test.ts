// The request body's checks and the preparation of each review: refusals name the field, reviews are cleaned and
// scaled as the prepare job does it.
import { describe, expect, it } from "vitest";
import { parsePredictRequest } from "../../serving/predict-request.ts";
import { prepareInstance } from "../../serving/prepare-instance.ts";
import { HttpError } from "../../serving/http-error.ts";
import { featureVector } from "../../gpu-jobs/prepare/features.ts";
import { cleanText } from "../../gpu-jobs/prepare/clean-text.ts";
import type { FeatureStats } from "../../schemas/review.ts";

const limits = { maxInstances: 4 };

function refusal(body: unknown): { status: number; message: string; field: string | null } {
  try {
    parsePredictRequest(body, limits);
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, message: err.message, field: err.field };
    throw err;
  }
  throw new Error("the request was accepted");
}

describe("parsePredictRequest", () => {
  it("takes strings and objects in instances, missing optional fields as null", () => {
    const parsed = parsePredictRequest(
      {
        instances: [
          "plain text",
          { text: "t", title: "T", price: 9.5, helpful_vote: 3, verified_purchase: false, rating: 5 },
          { text: "u", title: null, price: null },
        ],
        parameters: {},
      },
      limits,
    );
    expect(parsed.field).toBe("instances");
    expect(parsed.instances).toEqual([
      { text: "plain text", title: null, price: null, helpfulVote: null, verifiedPurchase: null },
      { text: "t", title: "T", price: 9.5, helpfulVote: 3, verifiedPurchase: false },
      { text: "u", title: null, price: null, helpfulVote: null, verifiedPurchase: null },
    ]);
  });

  it("takes the original app's texts form", () => {
    const parsed = parsePredictRequest({ texts: ["a", "b"] }, limits);
    expect(parsed.field).toBe("texts");
    expect(parsed.instances.map((i) => i.text)).toEqual(["a", "b"]);
  });

  it.each([
    [[1, 2], 400, null, "must be a JSON object"],
    ["text", 400, null, "must be a JSON object"],
    [{}, 400, "instances", "instances is missing"],
    [{ instance: ["a"] }, 400, "instances", "instances is missing"],
    [{ instances: "a" }, 400, "instances", "instances must be an array, got a string"],
    [{ instances: [] }, 400, "instances", "instances is empty"],
    [{ texts: [] }, 400, "texts", "texts is empty"],
    [{ instances: ["a"], texts: ["b"] }, 400, "texts", "either instances or texts"],
    [{ instances: ["a"], parameters: 3 }, 400, "parameters", "parameters must be an object"],
    [{ instances: ["a", 7] }, 400, "instances[1]", "instances[1] must be a review text or an object"],
    [{ instances: [null] }, 400, "instances[0]", "got null"],
    [{ instances: [{ title: "t" }] }, 400, "instances[0].text", "instances[0].text is missing"],
    [{ instances: [{ text: 3 }] }, 400, "instances[0].text", "must be a string, got a number"],
    [{ instances: [{ text: "a", title: 1 }] }, 400, "instances[0].title", "must be a string or null"],
    [{ instances: [{ text: "a", price: "12" }] }, 400, "instances[0].price", "must be a number or null"],
    [{ instances: [{ text: "a", price: -1 }] }, 400, "instances[0].price", "must not be negative"],
    [{ instances: ["a", { text: "a", helpful_vote: -2 }] }, 400, "instances[1].helpful_vote", "negative"],
    [
      { instances: [{ text: "a", verified_purchase: "Y" }] },
      400,
      "instances[0].verified_purchase",
      "true, false",
    ],
    [{ texts: ["a", { text: "b" }] }, 400, "texts[1]", "texts[1] must be a string, got an object"],
    [{ instances: ["a", "b", "c", "d", "e"] }, 413, "instances", "5 entries; the limit is 4"],
  ])("refuses %j with %i naming %s", (body, status, field, message) => {
    const r = refusal(body);
    expect(r.status).toBe(status);
    expect(r.field).toBe(field);
    expect(r.message).toContain(message);
  });

  it("never quotes review text in a refusal", () => {
    const r = refusal({ instances: [{ text: "my secret review", title: ["my secret title"] }] });
    expect(r.message).not.toContain("secret");
  });
});

const stats: FeatureStats = {
  names: ["price", "price_missing", "helpful_vote", "verified_purchase"],
  priceFill: 19.99,
  priceMean: 27.5,
  priceStd: 14,
  helpfulMean: 0.4,
  helpfulStd: 0.8,
};

describe("prepareInstance", () => {
  const instance = {
    text: "Works <br />  great,<b>really</b>",
    title: "  Five\nstars ",
    price: 41.5,
    helpfulVote: 3,
    verifiedPurchase: true,
  };

  it("cleans title and text as the prepare job does", () => {
    const r = prepareInstance(instance, stats, "instances[0]");
    expect(r.text).toBe(cleanText(instance.text));
    expect(r.text).toBe("Works great, really");
    expect(r.title).toBe("Five stars");
  });

  it("scales side features with the model's training statistics", () => {
    const r = prepareInstance(instance, stats, "instances[0]");
    expect(r.features).toEqual(featureVector({ price: 41.5, helpfulVote: 3, verifiedPurchase: true }, stats));
    expect(r.features![0]).toBeCloseTo((41.5 - 27.5) / 14, 12);
    expect(r.features![2]).toBeCloseTo((Math.log1p(3) - 0.4) / 0.8, 12);
  });

  it("treats missing values as in training: price filled and flagged, no votes, not verified", () => {
    const r = prepareInstance(
      { text: "ok", title: null, price: null, helpfulVote: null, verifiedPurchase: null },
      stats,
      "instances[0]",
    );
    expect(r.title).toBe("");
    expect(r.features).toEqual([(19.99 - 27.5) / 14, 1, (0 - 0.4) / 0.8, 0]);
  });

  it("drops side features for a model that takes none", () => {
    expect(prepareInstance(instance, null, "instances[0]").features).toBeNull();
  });

  it("refuses a text that is empty once HTML and whitespace are gone, naming it", () => {
    expect(() =>
      prepareInstance({ ...instance, text: " <br/> <p></p> " }, stats, "instances[3]"),
    ).toThrowError(/instances\[3\]\.text is empty/);
  });
});
