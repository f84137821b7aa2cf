// Model lines: the default line per base model and label scheme, and the validation of a line given by config.
import { describe, expect, it } from "vitest";
import { defaultModelLine, lineModelId, modelLineOf } from "../../schemas/model-line.ts";
import { parseConfig } from "../../schemas/load-config.ts";

const LABELS = { negativeMax: 2, positiveMin: 4 };

describe("model lines", () => {
  it("puts the demo's tiny model and the realistic MiniLM run in different lines", () => {
    const tiny = parseConfig({ training: { models: { bert: "tiny", roberta: "tiny" } } });
    const minilm = parseConfig({ training: { models: { bert: "minilm", roberta: "minilm" } } });
    expect(modelLineOf(tiny, "bert")).toBe("tiny-3class");
    expect(modelLineOf(minilm, "roberta")).toBe("minilm-3class");
  });

  it("derives a safe default from a Hugging Face id, a path and the label scheme", () => {
    expect(defaultModelLine("sentence-transformers/all-MiniLM-L6-v2", LABELS)).toBe(
      "all-minilm-l6-v2-3class",
    );
    expect(defaultModelLine("/models/My_Model.v2/", LABELS)).toBe("my-model-v2-3class");
    expect(defaultModelLine("bert-base-uncased", { negativeMax: 1, positiveMin: 5 })).toBe(
      "bert-base-uncased-3class-n1-p5",
    );
    expect(
      defaultModelLine("2b-model-with-a-very-long-name-indeed-xxxxxxxx", LABELS).length,
    ).toBeLessThanOrEqual(40);
  });

  it("uses the config's line when it gives one, and refuses an unsafe one naming the variable", () => {
    expect(modelLineOf(parseConfig({ training: { modelLine: "reviews-v2" } }), "bert")).toBe("reviews-v2");
    for (const bad of ["../x", "Upper", "a b", "-x", "x-", "a".repeat(41)])
      expect(() => parseConfig({ training: { modelLine: bad } })).toThrow(/training\.modelLine/);
    expect(() => lineModelId("sentiment-classifier", "../etc")).toThrow(/invalid model line/);
    expect(() => lineModelId("a".repeat(40), "b".repeat(30))).toThrow(/longer than 63 characters/);
  });
});
