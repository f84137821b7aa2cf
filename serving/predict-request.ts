// The body of a prediction request, checked: `{"instances": [...]}` (Vertex AI) or the original app's
// `{"texts": [...]}`; every refusal is an HttpError naming the field at fault.
import { z } from "zod";
import { MAX_HELPFUL_VOTES, MAX_PRICE } from "../schemas/review.ts";
import { HttpError } from "./http-error.ts";

/** One review as a caller sends it; raw side features, null or absent where unknown. */
export interface ServingInstance {
  text: string;
  title: string | null;
  price: number | null;
  helpfulVote: number | null;
  verifiedPurchase: boolean | null;
}

export interface ParsedRequest {
  /** Where the reviews were: `instances`, or `texts` (the original app's form). */
  field: "instances" | "texts";
  instances: ServingInstance[];
}

export interface RequestLimits {
  /** More instances than this is a 413. */
  maxInstances: number;
}

const missing = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? "is missing" : `must be ${what}, got ${describe(iss.input)}`;

/** Bounded as upload rows are: a value the prepare job would reject cannot be scaled into a meaningful feature. */
const nullableNumber = (what: string, max: number) =>
  z
    .number({ error: missing(`${what} or null`) })
    .min(0, { error: "must not be negative" })
    .max(max, { error: `must be at most ${max}; a larger value is not plausible` })
    .nullable()
    .optional();

/** An instance given as an object: text is required, the rest optional; other keys are ignored, as in uploads. */
const InstanceObject = z.object({
  text: z.string({ error: missing("a string") }),
  title: z
    .string({ error: missing("a string or null") })
    .nullable()
    .optional(),
  price: nullableNumber("a number", MAX_PRICE),
  helpful_vote: nullableNumber("a number", MAX_HELPFUL_VOTES),
  verified_purchase: z
    .boolean({ error: missing("true, false or null") })
    .nullable()
    .optional(),
});

/**
 * Checks a parsed JSON body and returns its instances. `parameters` (which Vertex AI passes through) may be present
 * and is ignored; it must be an object when it is.
 */
export function parsePredictRequest(body: unknown, limits: RequestLimits): ParsedRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, `the request body must be a JSON object with instances, got ${describe(body)}`);
  }
  const record = body as Record<string, unknown>;
  const hasInstances = record.instances !== undefined;
  const hasTexts = record.texts !== undefined;
  if (hasInstances && hasTexts) {
    throw new HttpError(400, "give either instances or texts, not both", "texts");
  }
  if (record.parameters !== undefined && !isObject(record.parameters)) {
    throw new HttpError(
      400,
      `parameters must be an object when given, got ${describe(record.parameters)}`,
      "parameters",
    );
  }
  if (!hasInstances && !hasTexts) {
    throw new HttpError(
      400,
      'instances is missing: send {"instances": ["review text", {"text": "...", "title": "..."}]}',
      "instances",
    );
  }
  const field = hasInstances ? "instances" : "texts";
  const list = record[field];
  if (!Array.isArray(list))
    throw new HttpError(400, `${field} must be an array, got ${describe(list)}`, field);
  if (list.length === 0) throw new HttpError(400, `${field} is empty: send at least one review`, field);
  if (list.length > limits.maxInstances) {
    throw new HttpError(
      413,
      `${field} has ${list.length} entries; the limit is ${limits.maxInstances} per request`,
      field,
    );
  }
  const instances = list.map((item, i) =>
    hasInstances ? instanceOf(item, `${field}[${i}]`) : textOf(item, `${field}[${i}]`),
  );
  return { field, instances };
}

function textOf(item: unknown, path: string): ServingInstance {
  if (typeof item !== "string")
    throw new HttpError(400, `${path} must be a string, got ${describe(item)}`, path);
  return { text: item, title: null, price: null, helpfulVote: null, verifiedPurchase: null };
}

function instanceOf(item: unknown, path: string): ServingInstance {
  if (typeof item === "string") return textOf(item, path);
  if (!isObject(item)) {
    throw new HttpError(
      400,
      `${path} must be a review text or an object with text, got ${describe(item)}`,
      path,
    );
  }
  const parsed = InstanceObject.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = `${path}.${issue.path.map(String).join(".")}`;
    throw new HttpError(400, `${at} ${issue.message}`, at);
  }
  const v = parsed.data;
  return {
    text: v.text,
    title: v.title ?? null,
    price: v.price ?? null,
    helpfulVote: v.helpful_vote ?? null,
    verifiedPurchase: v.verified_purchase ?? null,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short description of a wrong value for messages: its type, never its content (it may be review text). */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  if (typeof v === "number") return "a number";
  if (typeof v === "string") return "a string";
  if (typeof v === "boolean") return "a boolean";
  if (typeof v === "object") return "an object";
  return typeof v;
}
