// A request's review as the model saw its training rows: text and title cleaned as the prepare job cleans them, side
// features scaled with the model's own training statistics (missing values as in training).
import type { FeatureStats } from "../../schemas/review.ts";
import { cleanText } from "../../gpu-jobs/prepare/clean-text.ts";
import { featureVector } from "../../gpu-jobs/prepare/features.ts";
import type { ReviewInput } from "../../gpu-jobs/inference/index.ts";
import { HttpError } from "./http-error.ts";
import type { ServingInstance } from "./predict-request.ts";

/**
 * `features` is the model metadata's statistics, null when the model takes no side features (they are then
 * ignored). `path` names the instance in errors, e.g. `instances[3]`.
 */
export function prepareInstance(
  instance: ServingInstance,
  features: FeatureStats | null,
  path: string,
): ReviewInput {
  const text = cleanText(instance.text);
  if (text === "") {
    throw new HttpError(400, `${path}.text is empty after removing HTML tags and whitespace`, `${path}.text`);
  }
  return {
    title: instance.title === null ? "" : cleanText(instance.title),
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
