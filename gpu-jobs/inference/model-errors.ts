// Why a model folder cannot be used: retrying will not help, so callers fail the job or refuse to serve.

/** The folder is missing a file, a file is corrupt, or its parts do not fit together. */
export class InvalidModelError extends Error {
  override readonly name = "InvalidModelError";
}

/** A review the model cannot take (e.g. no side features for a model that needs them). */
export class InvalidReviewError extends Error {
  override readonly name = "InvalidReviewError";
}
