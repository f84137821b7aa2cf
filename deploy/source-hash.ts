// Content hashes of what goes into each build, so a deploy of unchanged sources builds and redeploys nothing.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { BuiltImage } from "./names.ts";
import { FUNCTION_SOURCE_DIRS } from "./stage-functions.ts";

export interface SourceSet {
  /** Files and folders, relative to the repository root. */
  roots: readonly string[];
  /** Folders left out, relative to the repository root. */
  exclude?: readonly string[];
}

/** The TypeScript the functions and the Node images compile, with the lock that fixes their dependencies. */
const NODE_SOURCES = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  ...FUNCTION_SOURCE_DIRS,
];

export const SOURCE_SETS: Record<"functions" | BuiltImage, SourceSet> = {
  functions: { roots: NODE_SOURCES, exclude: ["gpu-jobs/trainer"] },
  jobs: {
    roots: [...NODE_SOURCES, "deploy/images/jobs", "deploy/images/build.gcloudignore"],
    exclude: ["gpu-jobs/trainer"],
  },
  serving: {
    roots: [...NODE_SOURCES, "deploy/images/serving", "deploy/images/build.gcloudignore"],
    exclude: ["gpu-jobs/trainer"],
  },
  trainer: {
    roots: ["gpu-jobs/trainer", "schemas/json", "deploy/images/trainer", "deploy/images/build.gcloudignore"],
  },
};

const SKIPPED_DIRS = new Set([
  "node_modules",
  ".local",
  "dist",
  "__pycache__",
  ".venv",
  "venv",
  ".pytest_cache",
  ".git",
  "coverage",
  "mlruns",
]);
const SKIPPED_FILE = /(\.test\.ts|\.pyc|\.DS_Store)$/;

/** sha256 over every file's path and bytes, in a fixed order; 16 hex characters. Missing roots count as empty. */
export function hashSources(repoRoot: string, set: SourceSet, extra = ""): string {
  const excluded = new Set((set.exclude ?? []).map((p) => join(repoRoot, p)));
  const files: string[] = [];
  const walk = (path: string) => {
    if (excluded.has(path) || !existsSync(path)) return;
    const st = statSync(path);
    if (st.isDirectory()) {
      if (SKIPPED_DIRS.has(path.split(sep).pop() ?? "") || path.endsWith(".egg-info")) return;
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (st.isFile() && !SKIPPED_FILE.test(path)) {
      files.push(path);
    }
  };
  for (const root of set.roots) walk(join(repoRoot, root));
  const hash = createHash("sha256");
  for (const file of files.sort()) {
    hash
      .update(relative(repoRoot, file).split(sep).join("/"))
      .update("\0")
      .update(readFileSync(file))
      .update("\0");
  }
  hash.update(extra);
  return hash.digest("hex").slice(0, 16);
}
