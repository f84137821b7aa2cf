// NaN never leaves the server (issue 13, item 2): an implausible side feature is refused with 400 naming the field,
// and logits that are not finite (a broken model) give an error, not null scores under a label argmax made up.
import { afterAll, describe, expect, it } from "vitest";
import { loadModel, argmax, type LoadedModel } from "../../gpu-jobs/inference/index.ts";
import { parsePredictRequest } from "../../serving/predict-request.ts";
import { prepareInstance } from "../../serving/prepare-instance.ts";
import { HttpError } from "../../serving/http-error.ts";
import { ServedModel, type ModelInfo } from "../../serving/served-model.ts";
import type { BatchRunner } from "../../serving/worker-pool.ts";
import { TINY_MODEL } from "./support.ts";

function refusal(body: unknown): HttpError {
  try {
    parsePredictRequest(body, { maxInstances: 8 });
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error("the request was accepted");
}

describe("an implausible side feature in a request", () => {
  it.each([
    [{ instances: [{ text: "great", price: 1e200 }] }, "instances[0].price", "must be at most 1000000"],
    [{ instances: ["ok", { text: "great", helpful_vote: 1e300 }] }, "instances[1].helpful_vote", "at most"],
    // JSON.parse reads 1e400 as Infinity.
    [JSON.parse('{"instances":[{"text":"great","price":1e400}]}'), "instances[0].price", "got Infinity"],
  ])("is refused with 400 naming the field (%j)", (body, field, message) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
    expect(err.message).toContain(message);
  });
});

describe("non-finite logits", () => {
  let model: LoadedModel | undefined;
  afterAll(() => model?.release());

  const info = { uri: "mem://broken", file: "model.onnx" } as ModelInfo;
  function served(m: LoadedModel, row: number[]): ServedModel {
    const runner: BatchRunner = {
      slots: 1,
      run: (rows) => Promise.resolve({ logits: Float32Array.from(rows.flatMap(() => row)), runs: 1 }),
      close: () => Promise.resolve(),
    };
    return new ServedModel(m, info, runner, { windowMs: 0, maxBatchRows: 8 });
  }

  it.each([[[Number.NaN, 0.1, 0.2]], [[0.1, Infinity, 0.2]], [[-Infinity, -Infinity, -Infinity]]])(
    "give a 500 naming the review instead of scores (%j)",
    async (row) => {
      model ??= await loadModel(TINY_MODEL, { quantized: true });
      const review = prepareInstance(
        { text: "great", title: null, price: 5, helpfulVote: null, verifiedPurchase: null },
        model.metadata.features,
        "instances[0]",
      );
      const answer = served(model, row).predict([review]);
      await expect(answer).rejects.toBeInstanceOf(HttpError);
      await expect(answer).rejects.toMatchObject({
        status: 500,
        message: expect.stringMatching(/non-finite score for review 0/),
      });
    },
  );

  it("are never ranked by argmax", () => {
    expect(() => argmax([Number.NaN, 1, 2])).toThrow(RangeError);
    expect(() => argmax([1, Number.NaN])).toThrow(/index 1/);
    expect(argmax([1, 3, 3])).toBe(1);
  });
});
