// A request the endpoint refuses: its HTTP status, a message naming the problem, and the field it is about.

/** Google API style status names for the codes the endpoint answers with. */
const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

export class HttpError extends Error {
  override readonly name = "HttpError";

  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault, e.g. `instances[2].price`; null when it is the request as a whole. */
    readonly field: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The JSON body of an error answer: `{"error": {"code", "status", "message", "field"?}}`. */
export function errorBody(status: number, message: string, field: string | null = null): unknown {
  return {
    error: {
      code: status,
      status: STATUS_NAMES[status] ?? "UNKNOWN",
      message,
      ...(field !== null ? { field } : {}),
    },
  };
}
