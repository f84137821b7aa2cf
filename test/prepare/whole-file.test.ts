// Whole-file cases: empty files, unknown formats, gzip, and the rejected-share rule that fails a run.
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { DataConfig } from "../../schemas/config.ts";
import { makeDataIo } from "../../gpu-jobs/prepare/data-io.ts";
import { UnusableInputError } from "../../gpu-jobs/prepare/input-format.ts";
import { prepareData } from "../../gpu-jobs/prepare/prepare-data.ts";
import { generateReviews } from "../../gpu-jobs/prepare/generator/generate-reviews.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { jsonl, prepareFile, review, reviews, tempDir } from "./helpers.ts";

describe("prepare on whole files", () => {
  it("reports an empty JSONL file as having no rows, after writing empty outputs and stats", async () => {
    const p = await prepareFile({ name: "empty.jsonl", content: "" });
    expect(p.failure).toMatch(/^no rows in the file \(read 0, kept 0, rejected 0\)$/);
    expect(p.stats).toMatchObject({ rowsRead: 0, rowsKept: 0, format: "jsonl" });
    expect([p.train, p.validation, p.test, p.rejected]).toEqual([[], [], [], []]);
  });

  it("reports an empty CSV file, and one with a header only, as having no rows", async () => {
    for (const content of ["", "rating,text\n", "\n\n"]) {
      const p = await prepareFile({ name: "empty.csv", content });
      expect(p.failure).toMatch(/^no rows in the file/);
    }
  });

  it("fails when nothing valid is left, with the counts by reason", async () => {
    const p = await prepareFile({
      name: "bad.jsonl",
      content: jsonl(["{oops", review({ rating: 9 }), review({ text: "" })]),
    });
    expect(p.failure).toBe(
      "no valid rows left (read 3, kept 0, rejected 3: invalid_json 1, invalid_rating 1, missing_text 1)",
    );
    expect(p.rejected).toHaveLength(3);
  });

  it("fails when more than the allowed share is rejected, yet writes the rejected rows and stats first", async () => {
    const rows = [...reviews(4), "{", "{", "{", "{", "{"];
    const p = await prepareFile({ name: "mostly-bad.jsonl", content: jsonl(rows) });
    expect(p.failure).toBe(
      "55.6% of the rows were rejected, more than the allowed 50.0% (read 9, kept 4, rejected 5: invalid_json 5)",
    );
    expect(p.rejected).toHaveLength(5);
    const lenient = await prepareFile(
      { name: "mostly-bad.jsonl", content: jsonl(rows) },
      { data: { maxRejectedShare: 0.6 } },
    );
    expect(lenient.failure).toBeNull();
  });

  it("names the file when its format is unknown", async () => {
    const promise = prepareFile({
      name: "reviews.parquet",
      content: Buffer.from([0x50, 0x41, 0x52, 0x31, 0, 1, 2]),
    });
    await expect(promise).rejects.toBeInstanceOf(UnusableInputError);
    await expect(prepareFile({ name: "reviews.parquet", content: "PAR1" })).rejects.toThrow(
      /reviews\.parquet: unknown format/,
    );
  });

  it("tells JSON lines and CSV apart by content when the name has no known extension", async () => {
    const asJsonl = await prepareFile({ name: "upload.txt", content: jsonl(reviews(5)) });
    expect(asJsonl.stats).toMatchObject({ format: "jsonl", rowsKept: 5 });
    const asCsv = await prepareFile({ name: "upload", content: "rating,text\n5,good\n1,bad\n" });
    expect(asCsv.stats).toMatchObject({ format: "csv", rowsKept: 2 });
  });

  it("reads gzip-compressed JSONL to the same rows and fingerprint as the plain file", async () => {
    const text = jsonl(reviews(30));
    const plain = await prepareFile({ name: "r.jsonl", content: text });
    const zipped = await prepareFile({ name: "r.jsonl.gz", content: gzipSync(text) });
    expect(zipped.stats.format).toBe("jsonl.gz");
    expect(zipped.stats.fingerprint).toBe(plain.stats.fingerprint);
    expect(zipped.train).toEqual(plain.train);
  });

  it("gives the same rows and fingerprint for the same reviews as JSONL and as gzip-compressed CSV", async () => {
    const rows = [...generateReviews({ rows: 300, seed: 4, scenario: "biased" })];
    const columns = [
      "rating",
      "title",
      "text",
      "asin",
      "parent_asin",
      "user_id",
      "timestamp",
      "helpful_vote",
      "verified_purchase",
      "main_category",
      "price",
    ] as const;
    const cell = (v: string | number | boolean | null) =>
      v === null ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
    const csv =
      [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
    const fromJsonl = await prepareFile({ name: "g.jsonl", content: jsonl(rows) });
    const fromCsv = await prepareFile({ name: "g.csv.gz", content: gzipSync(csv) });
    expect(fromCsv.stats.format).toBe("csv.gz");
    expect(fromCsv.stats.fingerprint).toBe(fromJsonl.stats.fingerprint);
    expect(fromCsv.test).toEqual(fromJsonl.test.map((r) => ({ ...r, line: r.line + 1 })));
  });

  it("fails with the file's name on gzip data that is cut short or a .gz name that is not gzip", async () => {
    const zipped = gzipSync(jsonl(reviews(200)));
    await expect(
      prepareFile({ name: "cut.jsonl.gz", content: zipped.subarray(0, zipped.length - 40) }),
    ).rejects.toThrow(/cut\.jsonl\.gz: gzip data is corrupt or cut short/);
    await expect(prepareFile({ name: "fake.jsonl.gz", content: jsonl(reviews(3)) })).rejects.toThrow(
      /fake\.jsonl\.gz: the name ends in \.gz but the data is not gzip/,
    );
  });

  it("leaves no half-written outputs behind when the file turns out unusable", async () => {
    const zipped = gzipSync(jsonl(reviews(200)));
    const dir = tempDir();
    writeFileSync(join(dir, "cut.jsonl.gz"), zipped.subarray(0, zipped.length - 40));
    await expect(
      prepareData({
        input: join(dir, "cut.jsonl.gz"),
        outDir: join(dir, "out"),
        sliceColumns: ["year"],
        data: DataConfig.parse({}),
        io: makeDataIo(null),
        log: new CapturingLogger(),
      }),
    ).rejects.toThrow(UnusableInputError);
    expect(existsSync(join(dir, "out")) ? readdirSync(join(dir, "out")) : []).toEqual([]);
  });

  it("leaves no temporary file when a writer is given up right after it opened (the file opens asynchronously)", async () => {
    // Before the abort waited for the stream to close, a few in a hundred left their .tmp file behind.
    const dir = tempDir();
    for (let i = 0; i < 300; i += 1) {
      const writer = makeDataIo(null).writer(join(dir, `out-${i}`, "rejected.jsonl"));
      writer.write("{}\n");
      await writer.abort();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    const left = readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)));
    expect(left).toEqual([]);
  });
});
