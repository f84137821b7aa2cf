// Stages the functions' source for `gcloud functions deploy`: compiled JavaScript, dependencies to install, the config.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { PipelineConfig } from "../schemas/config.ts";
import { STAGED_CONFIG_FILE } from "./function-env.ts";

/** Folders compiled into the functions' bundle (deploy/, emulator/ and the trainer stay out). */
export const FUNCTION_SOURCE_DIRS = [
  "schemas",
  "events",
  "platform",
  "functions",
  "serving",
  "gpu-jobs",
  "report",
  "tracking",
] as const;
export const FUNCTIONS_ENTRY = "functions/index.ts";

interface RootPackage {
  name: string;
  version: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
}

/**
 * The staged package.json: the runtime dependencies at the locked versions, the entry file as `main`, and no
 * scripts (the repository's `prepare` script must not run in Cloud Build). The repository's lock file travels with it.
 */
export function stagedPackageJson(root: RootPackage): Record<string, unknown> {
  return {
    name: root.name,
    version: root.version,
    private: true,
    type: "module",
    main: FUNCTIONS_ENTRY.replace(/\.ts$/, ".js"),
    engines: root.engines ?? {},
    dependencies: root.dependencies ?? {},
  };
}

export class StageError extends Error {
  override readonly name = "StageError";
}

export function stageFunctionsSource(options: {
  repoRoot: string;
  outDir: string;
  config: PipelineConfig;
}): void {
  const repoRoot = resolve(options.repoRoot);
  const outDir = resolve(repoRoot, options.outDir);
  if (!existsSync(join(repoRoot, FUNCTIONS_ENTRY))) {
    throw new StageError(
      `${FUNCTIONS_ENTRY} does not exist: the functions' entry points (startRun, advanceRun, ...) must be written first`,
    );
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  // A tsconfig beside the stage compiles only the folders the functions need, with the build settings.
  const tsconfig = join(dirname(outDir), `${outDir.split("/").pop() ?? "stage"}.tsconfig.json`);
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        extends: join(repoRoot, "tsconfig.build.json"),
        compilerOptions: { outDir, rootDir: repoRoot, sourceMap: false },
        include: FUNCTION_SOURCE_DIRS.map((d) => join(repoRoot, d)),
        exclude: [
          join(repoRoot, "node_modules"),
          join(repoRoot, "gpu-jobs/trainer"),
          join(repoRoot, "**/*.test.ts"),
        ],
      },
      null,
      2,
    ),
  );
  const tsc = createRequire(join(repoRoot, "package.json")).resolve("typescript/bin/tsc");
  const compiled = spawnSync(process.execPath, [tsc, "-p", tsconfig], { cwd: repoRoot, encoding: "utf8" });
  if (compiled.status !== 0)
    throw new StageError(`compiling the functions failed:\n${compiled.stdout}${compiled.stderr}`);

  const root = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as RootPackage;
  writeFileSync(join(outDir, "package.json"), `${JSON.stringify(stagedPackageJson(root), null, 2)}\n`);
  copyFileSync(join(repoRoot, "package-lock.json"), join(outDir, "package-lock.json"));
  writeFileSync(join(outDir, STAGED_CONFIG_FILE), `${JSON.stringify(options.config, null, 2)}\n`);
  writeFileSync(join(outDir, ".gcloudignore"), "node_modules/\n*.tsconfig.json\n");
}
