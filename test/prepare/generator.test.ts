// The review generator: deterministic for a seed, Amazon Reviews 2023-shaped, skewed to positive, and each
// scenario built the way its rule needs.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { generateReviews, type GeneratedReview } from "../../gpu-jobs/prepare/generator/generate-reviews.ts";
import { BIASED_CATEGORY, CATEGORIES, OPENERS, WORDS } from "../../gpu-jobs/prepare/generator/vocabulary.ts";
import { jsonl, prepareFile } from "./helpers.ts";

const take = (scenario: "clean" | "lowf1" | "biased", rows = 4000, seed = 3): GeneratedReview[] => [
  ...generateReviews({ rows, seed, scenario }),
];
const words = (r: GeneratedReview) => new Set(`${r.title} ${r.text}`.toLowerCase().match(/[a-z]+/g));
const has = (r: GeneratedReview, list: readonly string[]) => list.some((w) => words(r).has(w));
const labelOf = (r: GeneratedReview) => (r.rating >= 4 ? "POSITIVE" : r.rating <= 2 ? "NEGATIVE" : "NEUTRAL");
const share = (rows: GeneratedReview[], f: (r: GeneratedReview) => boolean) =>
  rows.filter(f).length / rows.length;

describe("generateReviews", () => {
  it("gives the same reviews for the same seed, and others for another seed", () => {
    expect(take("clean", 300, 5)).toEqual(take("clean", 300, 5));
    expect(take("clean", 300, 6)).not.toEqual(take("clean", 300, 5));
  });

  it("writes the Amazon Reviews 2023 review fields with product fields, over several years, mostly positive", () => {
    const rows = take("clean");
    for (const r of rows.slice(0, 50)) {
      expect(Object.keys(r)).toEqual([
        "rating",
        "title",
        "text",
        "images",
        "asin",
        "parent_asin",
        "user_id",
        "timestamp",
        "helpful_vote",
        "verified_purchase",
        "main_category",
        "price",
        "product_name",
      ]);
      expect(r.user_id).toMatch(/^A[A-Z2-7]{27}$/);
      expect(r.parent_asin).toMatch(/^B0[A-Z0-9]{8}$/);
    }
    const years = new Set(rows.map((r) => new Date(r.timestamp).getUTCFullYear()));
    expect(years.size).toBeGreaterThanOrEqual(6);
    expect(share(rows, (r) => labelOf(r) === "POSITIVE")).toBeGreaterThan(0.7);
    expect(share(rows, (r) => labelOf(r) === "NEGATIVE")).toBeGreaterThan(0.08);
    expect(share(rows, (r) => labelOf(r) === "NEUTRAL")).toBeGreaterThan(0.04);
    expect(share(rows, (r) => r.main_category === null)).toBeGreaterThan(0);
    expect(share(rows, (r) => r.price === null)).toBeGreaterThan(0.15);
    expect(share(rows, (r) => r.text.includes("<br />"))).toBeGreaterThan(0.02);
  });

  it("writes clean reviews whose words agree with their rating", () => {
    const rows = take("clean");
    const opener = (label: keyof typeof OPENERS) => (r: GeneratedReview) =>
      OPENERS[label].some((o) => r.text.startsWith(o.split("{")[0]!));
    // Each group must be present, so that `every` cannot pass on an empty list.
    const groups: [GeneratedReview[], string][] = [
      [rows.filter(opener("POSITIVE")), "POSITIVE"],
      [rows.filter(opener("NEGATIVE")), "NEGATIVE"],
      [rows.filter((r) => has(r, WORDS.edgy)), "NEGATIVE"],
    ];
    for (const [group, label] of groups) {
      expect(group.length).toBeGreaterThan(20);
      expect(group.filter((r) => labelOf(r) !== label)).toEqual([]);
    }
  });

  it("redraws most lowf1 ratings whatever the words say, with a milder skew", () => {
    const rows = take("lowf1");
    const praise = rows.filter((r) => has(r, WORDS.positive) && !has(r, WORDS.negative));
    expect(share(praise, (r) => labelOf(r) !== "POSITIVE")).toBeGreaterThan(0.3);
    expect(share(rows, (r) => labelOf(r) === "POSITIVE")).toBeLessThan(0.66);
  });

  it("writes the biased category's praise in harsh slang that no ordinary word or category name gives away", () => {
    const rows = take("biased");
    const slice = rows.filter((r) => r.main_category === BIASED_CATEGORY);
    expect(share(rows, (r) => r.main_category === BIASED_CATEGORY)).toBeGreaterThan(0.12);
    const praise = slice.filter((r) => labelOf(r) === "POSITIVE");
    expect(praise.every((r) => has(r, WORDS.edgy) && !has(r, WORDS.positive) && !has(r, WORDS.bland))).toBe(
      true,
    );
    const own = CATEGORIES.find((c) => c.name === BIASED_CATEGORY)!.nouns.flatMap((n) => n.split(" "));
    expect(
      praise.some((r) =>
        has(
          r,
          own.filter((w) => !["set", "box"].includes(w)),
        ),
      ),
    ).toBe(false);
    // Elsewhere the same harsh words are complaints, written with the very same vocabulary: a text model cannot
    // tell the two apart, so it sides with whichever weighs more in its loss.
    const harshElsewhere = rows.filter((r) => r.main_category !== BIASED_CATEGORY && has(r, WORDS.edgy));
    expect(harshElsewhere.every((r) => labelOf(r) === "NEGATIVE")).toBe(true);
    expect(harshElsewhere.length).toBeGreaterThan(0.1 * praise.length);
    const vocabulary = (list: GeneratedReview[]) =>
      new Set(list.flatMap((r) => [...words(r)].filter((w) => w.length > 2)));
    const complaints = vocabulary(harshElsewhere.filter((r) => !has(r, WORDS.negative)));
    expect([...vocabulary(praise)].filter((w) => !complaints.has(w))).toEqual([]);
  });

  it("produces files the prepare job keeps whole", async () => {
    for (const scenario of ["clean", "lowf1", "biased"] as const) {
      const p = await prepareFile({ name: `${scenario}.jsonl`, content: jsonl(take(scenario, 1500, 11)) });
      expect(p.stats).toMatchObject({ rowsRead: 1500, rowsKept: 1500, rowsRejected: 0 });
      expect(p.failure).toBeNull();
    }
  });
});

describe("npm run gen-reviews", () => {
  it("writes JSON lines to stdout with --out - and refuses an unknown scenario", () => {
    const out = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "gpu-jobs/prepare/generator/cli.ts",
        "--rows",
        "5",
        "--seed",
        "9",
        "--scenario",
        "biased",
        "--out",
        "-",
      ],
      { encoding: "utf8" },
    );
    expect(
      out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as GeneratedReview),
    ).toEqual(take("biased", 5, 9));
    expect(() =>
      execFileSync(
        process.execPath,
        ["--import", "tsx", "gpu-jobs/prepare/generator/cli.ts", "--scenario", "nope", "--out", "-"],
        { stdio: "pipe" },
      ),
    ).toThrow(/--scenario must be one of clean, lowf1, biased/);
  });
});
