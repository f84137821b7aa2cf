// The prepare command's file-level mistakes (issue 13, item 6): a folder as --input, a file as --out, an --out folder
// holding the input, UTF-16 with a byte-order mark and CR-only line ends. Each gets one clear line (no stack trace,
// the input never overwritten) or is decoded and prepared like its UTF-8, LF twin.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeText, textShape } from "../../gpu-jobs/prepare/text-encoding.ts";
import { UnusableInputError } from "../../gpu-jobs/prepare/input-format.ts";
import { jsonl, prepareFile, reviews, tempDir } from "./helpers.ts";

function prepareCli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "gpu-jobs/prepare/cli.ts", ...args], {
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
const utf16be = (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, "utf16le").swap16()]);
const CSV = [
  "rating,title,text,user_id,parent_asin,timestamp,main_category",
  ...Array.from(
    { length: 12 },
    (_, i) => `${(i % 5) + 1},T${i},"Text é ${i}, fine",u${i},B${i},${1_600_000_000_000 + i},Home`,
  ),
];

describe("npm run prepare refuses, in one line and without a stack trace", () => {
  it("a folder as --input, and an existing file as --out", () => {
    const dir = tempDir();
    const folder = prepareCli("--input", dir, "--out", join(dir, "out"));
    expect(folder.code).toBe(2);
    expectOneLine(folder.stderr, /^prepare: --input .* is a folder; give one review file/);

    const input = join(dir, "reviews.jsonl");
    writeFileSync(input, jsonl(reviews(5)));
    const file = join(dir, "taken.txt");
    writeFileSync(file, "keep me");
    const out = prepareCli("--input", input, "--out", file);
    expect(out.code).toBe(2);
    expectOneLine(out.stderr, /^prepare: --out .*taken\.txt is an existing file; give a folder/);
    expect(readFileSync(file, "utf8")).toBe("keep me");
  });

  it("an --out folder that holds the input, leaving the input as it was", () => {
    const dir = tempDir();
    const input = join(dir, "train.jsonl");
    const content = jsonl(reviews(20));
    writeFileSync(input, content);
    for (const out of [dir, `${dir}/`, join(dir, ".")]) {
      const r = prepareCli("--input", input, "--out", out);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr, /is the folder that holds --input .*train\.jsonl; .*choose another folder/);
    }
    expect(readFileSync(input, "utf8")).toBe(content);
  });

  it("an --out path under a file", () => {
    const dir = tempDir();
    const input = join(dir, "reviews.jsonl");
    writeFileSync(input, jsonl(reviews(5)));
    const r = prepareCli("--input", input, "--out", join(input, "out"));
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("npm run prepare reads", () => {
  it("a UTF-16 CSV with a byte-order mark and CR-only line ends like its UTF-8 twin", () => {
    const dir = tempDir();
    const input = join(dir, "mac.csv");
    writeFileSync(input, utf16le(CSV.join("\r")));
    const r = prepareCli("--input", input, "--out", join(dir, "out"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("rows: read 12, kept 12, rejected 0");
  });
});

describe("upload text encodings", () => {
  const rows = reviews(30).map((r, i) => ({ ...r, text: `Très bien ✓ ${i} 😀` }));
  const plain = jsonl(rows);

  it.each([
    ["UTF-16LE with BOM", utf16le(plain)],
    ["UTF-16BE with BOM", utf16be(plain)],
    ["CR-only line ends", Buffer.from(plain.replaceAll("\n", "\r"))],
  ])("decodes %s into the same prepared rows as UTF-8", async (_what, bytes) => {
    const want = await prepareFile({ name: "f.jsonl", content: plain });
    const got = await prepareFile({ name: "f.jsonl", content: bytes });
    expect(got.stats.rowsKept).toBe(30);
    expect(got.stats.rowsRejected).toBe(0);
    expect(got.stats.fingerprint).toBe(want.stats.fingerprint);
    expect(got.train.map((r) => r.text)).toEqual(want.train.map((r) => r.text));
  });

  it("decodes CSV in UTF-16 and sniffs its format once decoded", async () => {
    const got = await prepareFile({ name: "reviews", content: utf16be(CSV.join("\r\n")) });
    expect(got.stats).toMatchObject({ format: "csv", rowsKept: 12, rowsRejected: 0 });
  });

  it("decodes a UTF-16 character split across chunks", async () => {
    const bytes = utf16le("a😀b\n");
    const chunks = (async function* () {
      for (const b of bytes) yield await Promise.resolve(Uint8Array.of(b));
    })();
    const out: Buffer[] = [];
    for await (const c of normalizeText(chunks, textShape(bytes, "x"), "x")) out.push(Buffer.from(c));
    expect(Buffer.concat(out).toString("utf8")).toBe("a😀b\n");
  });

  it.each([
    ["UTF-32", Buffer.from([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0]), /UTF-32 .*save it as UTF-8/],
    ["UTF-16 without a BOM", Buffer.from(plain, "utf16le"), /looks like UTF-16 without a byte-order mark/],
    [
      "broken UTF-16",
      Buffer.concat([utf16le("{}\n"), Buffer.from([0x00, 0xdc, 0x41, 0x00])]),
      /not valid UTF-16/,
    ],
  ])("gives one file-level message for %s", async (_what, bytes, message) => {
    const run = prepareFile({ name: "f.jsonl", content: bytes });
    await expect(run).rejects.toBeInstanceOf(UnusableInputError);
    await expect(run).rejects.toThrow(message);
  });

  it("keeps CRLF files as they are", () => {
    expect(textShape(Buffer.from("a\r\nb\r\n"), "x")).toBe("utf8");
    expect(textShape(Buffer.from("a\rb\r"), "x")).toBe("cr-lines");
  });
});
