// One raw row to one cleaned, labeled review with its identity and slice values, or the reason it is rejected.
import { LABELS, type Label } from "../../schemas/names.ts";
import { labelOf, parseUploadRow, SliceValue, type RowProblem } from "./upload-row.ts";
import { reviewIdentity } from "./identity.ts";

export interface ReviewRow {
  id: string;
  title: string;
  text: string;
  rating: number;
  label: Label;
  labelId: number;
  labelFromColumn: boolean;
  timestamp: number | null;
  /** Values of the slice columns, in their configured order; `unknown` where missing. */
  slices: string[];
  price: number | null;
  helpfulVote: number | null;
  verifiedPurchase: boolean | null;
}

export type RowOutcome = { ok: true; row: ReviewRow } | { ok: false; problem: RowProblem };

export const UNKNOWN = "unknown";

export interface ReviewRowOptions {
  sliceColumns: readonly string[];
  labels: { negativeMax: number; positiveMin: number };
}

export function reviewRow(values: Record<string, unknown>, options: ReviewRowOptions): RowOutcome {
  const parsed = parseUploadRow(values);
  if (!parsed.ok) return parsed;
  const r = parsed.row;
  const timestamp = r.timestamp ?? r.review_date_timestamp ?? null;
  const slices: string[] = [];
  for (const column of options.sliceColumns) {
    if (column === "year") {
      slices.push(
        timestamp !== null
          ? String(new Date(timestamp).getUTCFullYear())
          : r.year !== undefined
            ? String(r.year)
            : UNKNOWN,
      );
      continue;
    }
    const v = SliceValue.safeParse(values[column]);
    if (!v.success) {
      return {
        ok: false,
        problem: {
          reason: "invalid_field",
          field: column,
          message: `${column}: ${v.error.issues[0]?.message}`,
        },
      };
    }
    slices.push(v.data === undefined || v.data === "" ? UNKNOWN : v.data);
  }
  const { label, fromColumn } = labelOf(r, options.labels);
  const id = reviewIdentity({
    userId: r.user_id,
    productId: r.parent_asin ?? r.asin,
    timestamp: timestamp ?? undefined,
    title: r.title,
    text: r.text,
    rating: r.rating,
  });
  return {
    ok: true,
    row: {
      id,
      title: r.title,
      text: r.text,
      rating: r.rating,
      label,
      labelId: LABELS.indexOf(label),
      labelFromColumn: fromColumn,
      timestamp,
      slices,
      price: r.price ?? null,
      helpfulVote: r.helpful_vote ?? null,
      verifiedPurchase: r.verified_purchase ?? null,
    },
  };
}
