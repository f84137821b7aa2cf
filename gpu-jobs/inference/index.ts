// The inference module evaluation and serving share: load a model folder, tokenize, batch and run it.
export { loadModel, type LoadModelOptions, type LoadedModel } from "./load-model.ts";
export {
  predict,
  encodeReviews,
  runEncoded,
  argmax,
  nonFiniteIndex,
  softmax,
  type ReviewInput,
  type Prediction,
  type RunOptions,
} from "./predict.ts";
export { planBatches, batchFeeds, type Batch, type EncodedRow } from "./batching.ts";
export { ReviewTokenizer, reviewText } from "./review-tokenizer.ts";
export { InvalidModelError, InvalidReviewError } from "./model-errors.ts";
export { sourceUri, readModelFile, type ModelSource } from "./model-source.ts";
export {
  openSession,
  cudaProviderInstalled,
  defaultThreads,
  type Provider,
  type ProviderChoice,
  type SessionSettings,
} from "./session.ts";
export { inspectOnnx, type OnnxFacts } from "./onnx-graph.ts";
