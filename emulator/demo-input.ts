// The reviews a demo uploads: the user's file, or generated ones (deterministic per scenario, rows and seed, so kept).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "../platform/local/trainer-python.ts";

export interface DemoInputOptions {
  input?: string | undefined;
  scenario: string;
  rows: string;
  seed: string;
}

/** The file to upload, or an Error saying why there is none. */
export function demoInput(
  localRoot: string,
  o: DemoInputOptions,
  say: (line: string) => void,
): string | Error {
  if (o.input) return resolve(o.input);
  const dir = join(localRoot, "inputs");
  const file = join(dir, `${o.scenario}-${o.rows}-s${o.seed}.jsonl`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  say(`generating ${o.rows} reviews (scenario ${o.scenario}, seed ${o.seed})`);
  const generator = join(REPO_ROOT, "gpu-jobs/prepare/generator/cli.ts");
  // Written beside and renamed when whole, so a generation cut short is never taken for a finished file.
  const partial = `${file}.partial`;
  const args = ["--rows", o.rows, "--seed", o.seed, "--scenario", o.scenario, "--out", partial];
  const gen = spawnSync(process.execPath, ["--import", "tsx", generator, ...args], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (gen.status !== 0) return new Error(`could not generate reviews (exit ${gen.status})`);
  renameSync(partial, file);
  return file;
}
