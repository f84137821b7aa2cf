// What one uploaded row may hold, as a zod schema: the same coercions for JSONL values and CSV cells, so that a
// review gives the same prepared row whichever format it came in.
import { z } from "zod";
import type { Label } from "../../schemas/names.ts";
import { LABELS } from "../../schemas/names.ts";
import { MAX_HELPFUL_VOTES, MAX_PRICE, type RejectReason } from "../../schemas/review.ts";
import { cleanText } from "./clean-text.ts";

/** Cell values that mean "no value" in numeric and flag columns (pandas' defaults, which the original pipeline read with). */
const NA_TOKENS = new Set(["", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na", "nil"]);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(["true", "t", "yes", "y", "1"]);
const FALSE = new Set(["false", "f", "no", "n", "0"]);

/** Null, undefined and blank strings are missing in every column. */
export function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "");
}

function toNumber(v: unknown): unknown {
  if (isMissing(v)) return undefined;
  if (typeof v !== "string") return v;
  const s = v.trim();
  if (NA_TOKENS.has(s.toLowerCase())) return undefined;
  return NUMBER.test(s) ? Number(s) : v;
}

function toFlag(v: unknown): unknown {
  if (isMissing(v)) return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v === 1 ? true : v === 0 ? false : v;
  if (typeof v !== "string") return v;
  const s = v.trim().toLowerCase();
  if (NA_TOKENS.has(s)) return undefined;
  return TRUE.has(s) ? true : FALSE.has(s) ? false : v;
}

function toId(v: unknown): unknown {
  if (isMissing(v)) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return typeof v === "string" ? v.trim() : v;
}

function toLabel(v: unknown): unknown {
  if (isMissing(v)) return undefined;
  return typeof v === "string" ? v.trim().toUpperCase() : v;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
/** Timestamps below this are seconds (1e11 s is the year 5138; 1e11 ms is early 1973). */
const SECONDS_BELOW = 1e11;
/** 2200-01-01T00:00:00Z: anything later is not a review date. */
const MAX_MS = 7_258_118_400_000;

/** Milliseconds since the epoch from milliseconds, seconds (detected by size) or an ISO date (UTC unless zoned). */
function toTimestamp(v: unknown): unknown {
  const n = toNumber(v);
  if (typeof n === "number") {
    if (!Number.isFinite(n)) return v;
    return Math.round(Math.abs(n) < SECONDS_BELOW ? n * 1000 : n);
  }
  if (typeof n === "string") {
    const m = ISO_DATE.exec(n.trim());
    if (m) {
      const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? "00"}:${m[5] ?? "00"}:${m[6] ?? "00"}${m[7] ?? "Z"}`;
      const ms = Date.parse(iso);
      if (Number.isFinite(ms)) return ms;
    }
  }
  return n;
}

const typeError = (field: string, what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined
    ? `${field} is missing`
    : typeof iss.input === "number"
      ? `${field} must be a finite number, got ${iss.input}`
      : `${field} must be ${what}`;

/** A side-feature number: below `min` is invalid, above `max` implausible; either rejects the row, naming the field. */
const optionalNumber = (field: string, min: number, max: number) =>
  z
    .number({ error: typeError(field, "a number") })
    .min(min, `${field} must be at least ${min}`)
    .max(max, `${field} must be at most ${max}; a larger value is not plausible`)
    .optional();

const optionalString = (field: string) => z.string({ error: typeError(field, "a string") }).optional();

const timestamp = (field: string, what: string) =>
  z
    .number({ error: typeError(field, what) })
    .int()
    .min(0, `${field} must not be before 1970`)
    .max(MAX_MS, `${field} must be before 2200`)
    .optional();

/**
 * The fields the pipeline reads, after `coerceUploadValues`; others are ignored. Plain types only, so that zod's
 * compiled object parser does the per-row work (a few microseconds, where preprocess steps cost several times that).
 */
export const UploadRow = z.object({
  rating: z
    .number({ error: typeError("rating", "a number from 1 to 5") })
    .min(1, "rating must be from 1 to 5")
    .max(5, "rating must be from 1 to 5"),
  title: optionalString("title"),
  text: z.string({ error: typeError("text", "a string") }),
  sentiment_label: z
    .enum(LABELS, { error: () => `sentiment_label must be one of ${LABELS.join(", ")} or empty` })
    .optional(),
  user_id: optionalString("user_id"),
  parent_asin: optionalString("parent_asin"),
  asin: optionalString("asin"),
  timestamp: timestamp("timestamp", "milliseconds or seconds since the epoch, or an ISO date"),
  review_date_timestamp: timestamp("review_date_timestamp", "a date"),
  price: optionalNumber("price", 0, MAX_PRICE),
  helpful_vote: optionalNumber("helpful_vote", 0, MAX_HELPFUL_VOTES),
  verified_purchase: z.boolean({ error: typeError("verified_purchase", "true or false") }).optional(),
  year: z
    .number({ error: typeError("year", "a year") })
    .int()
    .min(1970)
    .max(2199)
    .optional(),
});
export type UploadRow = z.output<typeof UploadRow>;

const COERCE: Record<keyof typeof UploadRow.shape, (v: unknown) => unknown> = {
  rating: toNumber,
  title: (v) => (isMissing(v) ? undefined : v),
  text: (v) => (isMissing(v) ? undefined : v),
  sentiment_label: toLabel,
  user_id: toId,
  parent_asin: toId,
  asin: toId,
  timestamp: toTimestamp,
  review_date_timestamp: toTimestamp,
  price: toNumber,
  helpful_vote: toNumber,
  verified_purchase: toFlag,
  year: toNumber,
};

/** The columns UploadRow reads, so that a CSV reader can pick only these cells. */
export const UPLOAD_COLUMNS = Object.keys(UploadRow.shape) as (keyof typeof UploadRow.shape)[];

/**
 * Turns a JSON object's values or a CSV record's cells into what UploadRow checks: blanks and NA tokens become
 * missing, numeric strings numbers, flag words booleans, dates milliseconds. Values that do not convert are left
 * as they are, for UploadRow to reject with the field's name.
 */
export function coerceUploadValues(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of UPLOAD_COLUMNS) {
    const v = COERCE[column](values[column]);
    if (v !== undefined) out[column] = v;
  }
  return out;
}

/** A cleaned, validated upload row: title and text without HTML, missing title empty. */
export type CleanUploadRow = UploadRow & { title: string };

/** Validates and cleans one row; a text that is empty once cleaned is `missing_text`. */
export function parseUploadRow(
  values: Record<string, unknown>,
): { ok: true; row: CleanUploadRow } | { ok: false; problem: RowProblem } {
  const parsed = UploadRow.safeParse(coerceUploadValues(values));
  if (!parsed.success) return { ok: false, problem: rowProblem(parsed.error, values) };
  const text = cleanText(parsed.data.text);
  if (text === "") {
    return {
      ok: false,
      problem: {
        reason: "missing_text",
        field: "text",
        message: "text is empty after removing HTML tags and whitespace",
      },
    };
  }
  return {
    ok: true,
    row: { ...parsed.data, text, title: parsed.data.title === undefined ? "" : cleanText(parsed.data.title) },
  };
}

/** A slice column's value: text, a number or a flag, as a non-empty string; missing is undefined. */
export const SliceValue = z.preprocess(
  (v) => (isMissing(v) ? undefined : typeof v === "number" || typeof v === "boolean" ? String(v) : v),
  z
    .string({ error: () => "slice value must be a string, number or boolean" })
    .transform(cleanText)
    .optional(),
);

/** Which reason a failed field gives, worst first: a row without text is reported as that, not as a bad price. */
const REASON_ORDER: RejectReason[] = [
  "missing_text",
  "missing_rating",
  "invalid_rating",
  "invalid_label",
  "invalid_field",
];

export interface RowProblem {
  reason: RejectReason;
  field: string;
  message: string;
}

/** Maps zod's issues for a raw row to the one reason the row is rejected for. */
export function rowProblem(error: z.ZodError, raw: Record<string, unknown>): RowProblem {
  const problems = error.issues.map((issue): RowProblem => {
    const field = String(issue.path[0] ?? "(row)");
    let reason: RejectReason = "invalid_field";
    if (field === "text")
      reason = isMissing(raw.text) || issue.code === "too_small" ? "missing_text" : "invalid_field";
    else if (field === "rating")
      reason = isMissing(toNumber(raw.rating)) ? "missing_rating" : "invalid_rating";
    else if (field === "sentiment_label") reason = "invalid_label";
    return { reason, field, message: issue.message };
  });
  problems.sort((a, b) => REASON_ORDER.indexOf(a.reason) - REASON_ORDER.indexOf(b.reason));
  return problems[0]!;
}

/** The label a row gets: a valid label column wins, else the star rating through the configured thresholds. */
export function labelOf(
  row: Pick<UploadRow, "rating" | "sentiment_label">,
  thresholds: { negativeMax: number; positiveMin: number },
): { label: Label; fromColumn: boolean } {
  if (row.sentiment_label !== undefined) return { label: row.sentiment_label, fromColumn: true };
  const label: Label =
    row.rating <= thresholds.negativeMax
      ? "NEGATIVE"
      : row.rating >= thresholds.positiveMin
        ? "POSITIVE"
        : "NEUTRAL";
  return { label, fromColumn: false };
}
