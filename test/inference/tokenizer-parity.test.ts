// Tokenizer parity: the Node tokenizer gives Python's ids for every review of the shared sample, WordPiece and BPE.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReviewTokenizer, reviewText } from "../../gpu-jobs/inference/index.ts";
import { REPO_ROOT, reviewsSample, trainerPython } from "./python-env.ts";

const python = trainerPython();
const sample = reviewsSample();
const skip = python.skip ?? sample.skip;

interface PythonSide {
  wordpiece: number[][];
  bpe: number[][];
  maxLength: { wordpiece: number; bpe: number };
  version: string;
}

describe.skipIf(skip !== null)(
  `tokenizer parity with Python tokenizers${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    let dir: string;
    let py: PythonSide;
    let reviews: { title?: string | null; text?: string | null }[];

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "sp-parity-"));
      execFileSync(
        python.path!,
        [join(REPO_ROOT, "test/inference/py/tokenizer_parity.py"), sample.path!, dir],
        { stdio: "pipe" },
      );
      py = JSON.parse(readFileSync(join(dir, "ids.json"), "utf8")) as PythonSide;
      reviews = readFileSync(sample.path!, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as { title?: string | null; text?: string | null });
    }, 120_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each(["wordpiece", "bpe"] as const)(
      "gives the same ids as Python for every review with the %s tokenizer",
      async (name) => {
        const tokenizer = ReviewTokenizer.fromJson(readFileSync(join(dir, `${name}.json`), "utf8"));
        expect(tokenizer.maxLength).toBe(py.maxLength[name]);
        const ids = await tokenizer.encode(reviews.map((r) => reviewText(r.title ?? "", r.text ?? "")));
        expect(ids).toHaveLength(reviews.length);
        expect(reviews.length).toBeGreaterThan(2000);
        const mismatches = ids.map((a, i) => (sameIds(a, py[name][i]!) ? -1 : i)).filter((i) => i >= 0);
        expect(
          mismatches.slice(0, 5),
          `${mismatches.length} reviews differ, first lines ${mismatches
            .slice(0, 5)
            .map((i) => i + 1)
            .join(", ")}`,
        ).toEqual([]);
        // The comparison covers truncation: many reviews are longer than the max length.
        const truncated = ids.filter((a) => a.length === py.maxLength[name]).length;
        expect(truncated).toBeGreaterThan(100);
      },
    );
  },
);

function sameIds(a: Int32Array, b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
