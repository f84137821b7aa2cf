// A JSONL upload full of broken lines: each is rejected with its reason, line and field, and every valid row
// around them survives.
import { describe, expect, it } from "vitest";
import { jsonl, prepareFile, review, reviews, type Prepared } from "./helpers.ts";

const VALID = reviews(40);
const LONG = JSON.stringify(review({ user_id: "LONG", text: "x".repeat(1_200_000) }));

/** Line number (1-based) -> [line, expected reason or null when valid, field]. */
const CORPUS: [string | Buffer, string | null, string | null][] = [
  [JSON.stringify(VALID[0]), null, null],
  ['{"rating": 5, "text": "unterminated', "invalid_json", null],
  ["[1, 2, 3]", "not_an_object", null],
  ['"just a string"', "not_an_object", null],
  [
    Buffer.concat([
      Buffer.from('{"rating": 5, "user_id": "bad", "text": "bad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(' byte"}'),
    ]),
    "invalid_utf8",
    null,
  ],
  [JSON.stringify(review({ user_id: "r7", rating: 7 })), "invalid_rating", "rating"],
  [JSON.stringify(review({ user_id: "r0", rating: 0 })), "invalid_rating", "rating"],
  [JSON.stringify(review({ user_id: "rs", rating: "five" })), "invalid_rating", "rating"],
  [JSON.stringify({ ...review({ user_id: "nr" }), rating: undefined }), "missing_rating", "rating"],
  [JSON.stringify(review({ user_id: "nr2", rating: null })), "missing_rating", "rating"],
  [JSON.stringify(review({ user_id: "ht", text: "<br />  <p> </p>" })), "missing_text", "text"],
  [JSON.stringify({ ...review({ user_id: "nt" }), text: undefined }), "missing_text", "text"],
  [JSON.stringify(review({ user_id: "tn", text: 42 })), "invalid_field", "text"],
  [JSON.stringify(review({ user_id: "pc", price: "cheap" })), "invalid_field", "price"],
  [JSON.stringify(review({ user_id: "pn", price: -3 })), "invalid_field", "price"],
  [JSON.stringify(review({ user_id: "ty", timestamp: "yesterday" })), "invalid_field", "timestamp"],
  [
    JSON.stringify(review({ user_id: "vp", verified_purchase: "maybe" })),
    "invalid_field",
    "verified_purchase",
  ],
  [JSON.stringify(review({ user_id: "mc", main_category: ["a", "b"] })), "invalid_field", "main_category"],
  [JSON.stringify(review({ user_id: "lb", sentiment_label: "GREAT" })), "invalid_label", "sentiment_label"],
  [LONG, "line_too_long", null],
  // Same user, product and time as the first row: the same review again, whatever its text says now.
  [JSON.stringify({ ...VALID[0], text: "Edited text." }), "duplicate", "id"],
  ["", null, null],
  ["   ", null, null],
  ...VALID.slice(1).map((r): [string, null, null] => [JSON.stringify(r), null, null]),
];

async function prepareCorpus(): Promise<Prepared> {
  const content = Buffer.concat(
    CORPUS.map(([line]) => Buffer.concat([Buffer.from(line), Buffer.from("\n")])),
  );
  return prepareFile({ name: "corpus.jsonl", content });
}

describe("prepare on malformed JSONL", () => {
  it("rejects each broken line with its reason, line number and field", async () => {
    const p = await prepareCorpus();
    const expected = CORPUS.map(([, reason, field], i) => ({ line: i + 1, reason, field })).filter(
      (e) => e.reason !== null,
    );
    expect(p.rejected.map((r) => ({ line: r.line, reason: r.reason, field: r.field }))).toEqual(expected);
    const counts: Record<string, number> = {};
    for (const e of expected) counts[e.reason!] = (counts[e.reason!] ?? 0) + 1;
    expect(p.stats.rejectedByReason).toEqual(counts);
  });

  it("keeps every valid row around the broken ones and counts every non-blank line as read", async () => {
    const p = await prepareCorpus();
    const kept = [...p.train, ...p.validation, ...p.test];
    expect(kept.map((r) => r.id).sort()).toEqual(
      VALID.map((r) => `${r.user_id as string}|B000000001|${r.timestamp as number}`).sort(),
    );
    expect(p.stats.rowsRead).toBe(CORPUS.filter(([l]) => l.toString().trim() !== "").length);
    expect(p.stats.rowsKept).toBe(VALID.length);
    expect(p.stats.rowsRejected).toBe(p.rejected.length);
    expect(p.failure).toBeNull();
  });

  it("cuts the raw copy of an overlong line to a few KB and says so", async () => {
    const p = await prepareCorpus();
    const long = p.rejected.find((r) => r.reason === "line_too_long")!;
    expect(long.truncated).toBe(true);
    expect(long.raw.length).toBeLessThanOrEqual(4096);
    expect(long.raw.startsWith('{"rating":5')).toBe(true);
    expect(long.message).toMatch(/1200\d{3} bytes/);
  });

  it("keeps the raw line of a rejected row so nothing is lost", async () => {
    const p = await prepareCorpus();
    const bad = p.rejected.find((r) => r.reason === "invalid_json")!;
    expect(bad.raw).toBe('{"rating": 5, "text": "unterminated');
    expect(bad.message).toMatch(/^not valid JSON/);
    const utf8 = p.rejected.find((r) => r.reason === "invalid_utf8")!;
    expect(utf8.raw).toContain("\uFFFD");
  });

  it("reads values the way the original pipeline did: numeric strings, seconds, nulls, HTML", async () => {
    const rows = [
      review({
        user_id: "a",
        rating: "4.0",
        timestamp: 1_600_000_000,
        title: null,
        text: "Great<br />value &amp;  fast",
      }),
      review({
        user_id: "b",
        rating: 2,
        main_category: null,
        price: "None",
        helpful_vote: "3",
        verified_purchase: "True",
      }),
      review({
        user_id: "c",
        rating: 3,
        main_category: "  Pet   Supplies ",
        timestamp: "2021-07-30 21:17:10",
      }),
      ...reviews(20),
    ];
    const p = await prepareFile({ name: "values.jsonl", content: jsonl(rows) });
    const byUser = new Map([...p.train, ...p.validation, ...p.test].map((r) => [r.id.split("|")[0], r]));
    const a = byUser.get("a")!;
    expect(a).toMatchObject({
      rating: 4,
      label: "POSITIVE",
      labelId: 2,
      title: "",
      text: "Great value &amp; fast",
      timestamp: 1_600_000_000_000,
    });
    expect(a.slices).toEqual({ year: "2020", main_category: "Home" });
    const b = byUser.get("b")!;
    expect(b).toMatchObject({ label: "NEGATIVE", labelId: 0 });
    expect(b.slices.main_category).toBe("unknown");
    expect(b.features[1]).toBe(1); // price missing
    expect(b.features[3]).toBe(1); // verified
    const c = byUser.get("c")!;
    expect(c).toMatchObject({ label: "NEUTRAL", labelId: 1, timestamp: Date.UTC(2021, 6, 30, 21, 17, 10) });
    expect(c.slices).toEqual({ year: "2021", main_category: "Pet Supplies" });
  });

  it("lets a valid sentiment_label win over the rating and counts where labels came from", async () => {
    const rows = [
      review({ user_id: "x", rating: 1, sentiment_label: "positive" }),
      review({ user_id: "y", rating: 5, sentiment_label: "" }),
      ...reviews(10),
    ];
    const p = await prepareFile({ name: "labels.jsonl", content: jsonl(rows) });
    const all = [...p.train, ...p.validation, ...p.test];
    expect(all.find((r) => r.id.startsWith("x|"))).toMatchObject({ label: "POSITIVE", rating: 1 });
    expect(all.find((r) => r.id.startsWith("y|"))).toMatchObject({ label: "POSITIVE", rating: 5 });
    expect(p.stats.labelSource).toEqual({ column: 1, rating: 11 });
    expect(p.stats.schema).toBe("labeled-csv");
  });

  it("dedupes rows without ids by their content", async () => {
    const noIds = (text: string, rating = 5) => ({ rating, title: "T", text });
    const rows = [
      noIds("Same words."),
      noIds("Same  words. "),
      noIds("Same words.", 4),
      noIds("Other words."),
      ...reviews(6),
    ];
    const p = await prepareFile({ name: "content.jsonl", content: jsonl(rows) });
    expect(p.rejected.map((r) => [r.line, r.reason])).toEqual([[2, "duplicate"]]);
    const ids = [...p.train, ...p.validation, ...p.test]
      .map((r) => r.id)
      .filter((id) => id.startsWith("sha256:"));
    expect(ids).toHaveLength(3);
  });
});
