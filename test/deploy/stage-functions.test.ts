// Staging the functions' source: runtime dependencies at the locked versions, an entry file, no lifecycle scripts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StageError, stagedPackageJson, stageFunctionsSource } from "../../deploy/stage-functions.ts";
import { sampleConfig } from "./support/sample-plan.ts";

const tmp = mkdtempSync(join(tmpdir(), "sp-stage-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("staged functions source", () => {
  it("lists the repository's runtime dependencies, points main at the entry file and runs no scripts", () => {
    const root = JSON.parse(readFileSync("package.json", "utf8")) as {
      name: string;
      version: string;
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(root.scripts.prepare).toBeDefined();
    const staged = stagedPackageJson(root);
    expect(staged).toMatchObject({
      type: "module",
      main: "functions/index.js",
      dependencies: root.dependencies,
    });
    expect(staged).not.toHaveProperty("scripts");
    expect(staged).not.toHaveProperty("devDependencies");
  });

  it("refuses to stage before the functions' entry points exist, naming the file", () => {
    expect(() => stageFunctionsSource({ repoRoot: tmp, outDir: "out", config: sampleConfig() })).toThrow(
      StageError,
    );
    expect(() => stageFunctionsSource({ repoRoot: tmp, outDir: "out", config: sampleConfig() })).toThrow(
      /functions\/index\.ts does not exist/,
    );
  });
});
