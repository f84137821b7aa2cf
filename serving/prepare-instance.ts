// A request's review as the model saw its training rows: text and title cleaned as the prepare job cleans them, side
// features scaled with the model's own training statistics (missing values as in training).
import type { FeatureStats } from "../schemas/review.ts";
import { cleanText } from "../gpu-jobs/prepare/clean-text.ts";
import { featureVector } from "../gpu-jobs/prepare/features.ts";
import type { ReviewInput } from "../gpu-jobs/inference/index.ts";
import { HttpError } from "./http-error.ts";
import type { ServingInstance } from "./predict-request.ts";
import { cutCleaned, rawPrefix } from "./text-budget.ts";

/**
 * `features` is the model metadata's statistics, null when the model takes no side features (they are then
 * ignored). `path` names the instance in errors, e.g. `instances[3]`. `budget` (textBudget of the model's max length)
 * cuts title and text to what the tokenizer can use, before they are cleaned and tokenized; absent, nothing is cut.
 */
export function prepareInstance(
  instance: ServingInstance,
  features: FeatureStats | null,
  path: string,
  budget?: number,
): ReviewInput {
  const clean = (s: string): string =>
    budget === undefined ? cleanText(s) : cutCleaned(cleanText(rawPrefix(s, budget)), budget);
  const text = clean(instance.text);
  if (text === "") {
    const read = budget === undefined ? instance.text.length : rawPrefix(instance.text, budget).length;
    const where = read < instance.text.length ? ` in its first ${read} characters (all that is read)` : "";
    throw new HttpError(
      400,
      `${path}.text is empty${where} after removing HTML tags and whitespace`,
      `${path}.text`,
    );
  }
  return {
    title: instance.title === null ? "" : clean(instance.title),
    text,
    features:
      features === null
        ? null
        : featureVector(
            {
              price: instance.price,
              helpfulVote: instance.helpfulVote,
              verifiedPurchase: instance.verifiedPurchase,
            },
            features,
          ),
  };
}
