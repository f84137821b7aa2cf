// Source hashes: stable for the same files, changed by any edit that reaches a build, blind to what never does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hashSources } from "../../deploy/source-hash.ts";

const root = mkdtempSync(join(tmpdir(), "sp-hash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const write = (path: string, text: string) => {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
};
const set = { roots: ["package.json", "functions", "gpu-jobs"], exclude: ["gpu-jobs/trainer"] };

describe("source hashes", () => {
  write("package.json", "{}");
  write("functions/a.ts", "export const a = 1;");
  write("gpu-jobs/cli.ts", "x");

  it("is the same for the same files and differs when a built file changes", () => {
    const first = hashSources(root, set);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(hashSources(root, set)).toBe(first);
    write("functions/a.ts", "export const a = 2;");
    expect(hashSources(root, set)).not.toBe(first);
  });

  it("ignores tests, dependencies, outputs and excluded folders, but not a renamed file", () => {
    const before = hashSources(root, set);
    write("functions/a.test.ts", "test");
    write("functions/node_modules/dep/index.js", "dep");
    write("gpu-jobs/trainer/train.py", "print()");
    write("functions/__pycache__/x.pyc", "bytes");
    expect(hashSources(root, set)).toBe(before);
    write("functions/b.ts", "export const a = 2;");
    rmSync(join(root, "functions/a.ts"));
    expect(hashSources(root, set)).not.toBe(before);
  });

  it("mixes in extra input such as the config", () => {
    expect(hashSources(root, set, '{"rules":1}')).not.toBe(hashSources(root, set, '{"rules":2}'));
  });
});
