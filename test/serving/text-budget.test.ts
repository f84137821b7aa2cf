// A review text is cut to what the tokenizer can use before it is cleaned and tokenized: the cut never changes the
// tokens the model sees on real reviews, and a 1 MB text reaches the tokenizer as a few KB.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReviewTokenizer, reviewText, type ReviewInput } from "../../gpu-jobs/inference/index.ts";
import { ModelHolder } from "../../serving/model-holder.ts";
import { PredictService } from "../../serving/predict-service.ts";
import { prepareInstance } from "../../serving/prepare-instance.ts";
import type { ServedModel } from "../../serving/served-model.ts";
import { cutCleaned, rawPrefix, RAW_FACTOR, textBudget } from "../../serving/text-budget.ts";
import { reviewsSample } from "../inference/python-env.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { TINY_MODEL } from "./support.ts";

const sample = reviewsSample();

/** The tiny model's tokenizer, truncating at `maxLength` tokens. */
function tokenizer(maxLength: number): ReviewTokenizer {
  const json = JSON.parse(readFileSync(join(TINY_MODEL, "tokenizer.json"), "utf8")) as {
    truncation: { max_length: number };
  };
  json.truncation.max_length = maxLength;
  return ReviewTokenizer.fromJson(JSON.stringify(json));
}

describe("cutting a text to the tokenizer's budget", () => {
  it("cuts a cleaned text at its last space within the budget, else between code points", () => {
    expect(cutCleaned("good cable works", 11)).toBe("good cable");
    expect(cutCleaned("good cable works", 10)).toBe("good cable");
    expect(cutCleaned("good cable", 10)).toBe("good cable");
    expect(cutCleaned("abcdefghij", 4)).toBe("abcd");
    // "😀" is two UTF-16 units: a cut through it keeps neither half.
    expect(cutCleaned("ab😀cd", 3)).toBe("ab");
    expect(rawPrefix("x".repeat(10_000), 100)).toHaveLength(100 * RAW_FACTOR);
  });

  it.skipIf(sample.skip !== null)(
    "leaves the tokens of every review of the shared sample as they were uncut, at 24 and 128 tokens",
    async () => {
      const rows = readFileSync(sample.path!, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { title?: unknown; text?: unknown });
      for (const maxLength of [24, 128]) {
        const tok = tokenizer(maxLength);
        const budget = textBudget(maxLength);
        let cut = 0;
        for (const r of rows) {
          if (typeof r.text !== "string" || r.text.trim() === "") continue;
          const instance = {
            text: r.text,
            title: typeof r.title === "string" ? r.title : null,
            price: null,
            helpfulVote: null,
            verifiedPurchase: null,
          };
          const whole = prepareInstance(instance, null, "r");
          const kept = prepareInstance(instance, null, "r", budget);
          if (kept.text === whole.text && kept.title === whole.title) continue;
          cut += 1;
          expect(kept.text.length).toBeLessThanOrEqual(budget);
          const [a, b] = await tok.encode([
            reviewText(whole.title, whole.text),
            reviewText(kept.title, kept.text),
          ]);
          expect(Array.from(b!)).toEqual(Array.from(a!));
        }
        // Not vacuous: the sample has reviews longer than either budget.
        expect(cut, `reviews cut at ${maxLength} tokens`).toBeGreaterThan(0);
      }
    },
  );

  it("hands the model at most the budget of a 1 MB review, cut at a word", async () => {
    const seen: ReviewInput[] = [];
    const maxLength = 128;
    const model = {
      model: { metadata: { features: null }, tokenizer: { maxLength } },
      info: {},
      predict: (reviews: readonly ReviewInput[]) => {
        seen.push(...reviews);
        return Promise.resolve(reviews.map(() => ({ label: "POSITIVE", scores: {} })));
      },
    } as unknown as ServedModel;
    const log = new CapturingLogger();
    const service = new PredictService({
      holder: new ModelHolder({ log, load: () => Promise.resolve(model) }),
      log,
      routes: { predict: ["/predict"], health: ["/health"] },
      maxInstances: 64,
      maxBodyBytes: 1_500_000,
    });
    const words = "this cable works well ".repeat(50_000);
    const body = JSON.stringify({
      instances: [{ title: words.slice(0, 100_000), text: `<p>${words}</p>` }],
    });
    expect(body.length).toBeGreaterThan(1_000_000);
    const out = await service.handle({
      method: "POST",
      path: "/predict",
      body: { kind: "bytes", bytes: Buffer.from(body) },
    });
    expect(out.status).toBe(200);
    const budget = textBudget(maxLength);
    expect(budget).toBe(4096);
    expect(seen[0]!.text.length).toBeLessThanOrEqual(budget);
    expect(seen[0]!.title.length).toBeLessThanOrEqual(budget);
    expect(seen[0]!.text.length).toBeGreaterThan(budget - 25);
    expect(words.startsWith(`${seen[0]!.text} `)).toBe(true);
  });

  it("says how much was read when a text is blank in all that is read", () => {
    expect(() =>
      prepareInstance(
        {
          text: `${" ".repeat(50_000)}late words`,
          title: null,
          price: null,
          helpfulVote: null,
          verifiedPurchase: null,
        },
        null,
        "instances[0]",
        textBudget(128),
      ),
    ).toThrow(/instances\[0\]\.text is empty in its first 32768 characters/);
  });
});
