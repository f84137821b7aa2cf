// What the functions and the Node images compile reaches only folders that are staged, copied and hashed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { SOURCE_SETS } from "../../deploy/source-hash.ts";
import { FUNCTION_SOURCE_DIRS, FUNCTIONS_ENTRY } from "../../deploy/stage-functions.ts";

const ROOT = process.cwd();

/** Repository files (relative paths) a file imports, statically or dynamically; packages are left out. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => normalize(join(dirname(file), name)));
}

/** Every repository file reachable from the given files. */
function closure(files: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...files];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (file.endsWith(".ts")) todo.push(...importsOf(file));
  }
  return seen;
}

/** Non-test TypeScript under a folder, as tsconfig.build.json compiles it. */
function tsFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    if (statSync(join(ROOT, path)).isDirectory()) {
      if (path.endsWith("node_modules") || path === "gpu-jobs/trainer") return;
      for (const name of readdirSync(join(ROOT, path))) walk(join(path, name));
    } else if (path.endsWith(".ts") && !path.endsWith(".test.ts")) out.push(path);
  };
  walk(dir);
  return out;
}

const topFolder = (file: string) => file.split("/")[0]!;

/** The folders a Node Dockerfile copies into its build stage. */
function copiedFolders(dockerfile: string): string[] {
  return [...readFileSync(join(ROOT, dockerfile), "utf8").matchAll(/^COPY (?!--)(\S+) \.\/\1\s*$/gm)].map(
    (m) => m[1]!,
  );
}

describe("sources of the functions and the Node images", () => {
  it("stages and hashes every folder the deployed functions import, the observers' report and tracking included", () => {
    const reached = [...closure([FUNCTIONS_ENTRY])];
    const folders = new Set(reached.map(topFolder));
    expect(folders).toContain("report");
    expect(folders).toContain("tracking");
    // The local stand-ins stay home: the bundle carries platform/local's adapters, never emulator/.
    expect(folders).not.toContain("emulator");
    expect(FUNCTION_SOURCE_DIRS as readonly string[]).not.toContain("emulator");
    // The stage compiles every file of those folders, not only what the entry reaches: their imports stay inside.
    const staged = FUNCTION_SOURCE_DIRS as readonly string[];
    const compiled = [...closure(staged.flatMap(tsFilesUnder))];
    expect(compiled.filter((f) => !staged.includes(topFolder(f)))).toEqual([]);
    for (const file of reached) expect(existsSync(join(ROOT, file)), file).toBe(true);
    for (const folder of folders) {
      expect(FUNCTION_SOURCE_DIRS as readonly string[], folder).toContain(folder);
      expect(SOURCE_SETS.functions.roots, folder).toContain(folder);
    }
  });

  for (const image of ["jobs", "serving"] as const) {
    it(`copies into the ${image} image every folder what it compiles imports, and hashes what it copies`, () => {
      const copied = copiedFolders(`deploy/images/${image}/Dockerfile`);
      expect(copied).toEqual(expect.arrayContaining(["schemas", "platform", "functions", "gpu-jobs"]));
      expect(copied).not.toContain("emulator");
      const reached = closure(copied.flatMap(tsFilesUnder));
      const missing = [...reached].filter((f) => !copied.includes(topFolder(f)));
      expect(missing).toEqual([]);
      for (const folder of copied) expect(SOURCE_SETS[image].roots, folder).toContain(folder);
    });
  }
});
