// Checks the prepare command's --input and --out before any work: a folder as input, a file as output folder, or an
// output folder that holds the input each get one clear message, so a mistake never ends in a stack trace or in the
// input overwritten by an output.
import { realpathSync, statSync, type Stats } from "node:fs";
import { dirname, resolve } from "node:path";
import { isGcsUri, joinLocation } from "./data-io.ts";
import { OUTPUT_FILES } from "./prepare-data.ts";

/** Why the locations cannot be used, or null when they can. */
export function locationProblem(input: string, out: string): string | null {
  if (isGcsUri(input) || isGcsUri(out)) return gcsProblem(input, out);
  const inputStat = statOrNull(input);
  if (inputStat === null) return `--input ${input}: no such file`;
  if (inputStat.isDirectory())
    return `--input ${input} is a folder; give one review file (.jsonl, .jsonl.gz or .csv)`;
  if (!inputStat.isFile()) return `--input ${input} is not a regular file`;
  const outStat = statOrNull(out);
  if (outStat !== null && !outStat.isDirectory())
    return `--out ${out} is an existing file; give a folder (it is created when missing)`;
  // Compare real paths, so that a symbolic link or a relative path cannot hide that the two are the same folder.
  const inputFolder = dirname(realpathSync(input));
  const outFolder = outStat !== null ? realpathSync(out) : resolve(out);
  if (inputFolder === outFolder) return holdsInput(input, out);
  return null;
}

function gcsProblem(input: string, out: string): string | null {
  const folder = out.replace(/\/+$/, "");
  if (input.startsWith(`${folder}/`) && !input.slice(folder.length + 1).includes("/"))
    return holdsInput(input, out);
  return Object.values(OUTPUT_FILES).some((f) => joinLocation(out, f) === input)
    ? holdsInput(input, out)
    : null;
}

function holdsInput(input: string, out: string): string {
  return `--out ${out} is the folder that holds --input ${input}; prepare writes ${Object.values(OUTPUT_FILES).join(", ")} there and could overwrite it: choose another folder`;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
      return null;
    throw err;
  }
}
