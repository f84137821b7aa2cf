// Renders the README's config table from the code (ENV_VARS and the defaults); a test keeps the README current.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as prettier from "prettier";
import { ENV_VARS, loadConfig } from "../schemas/load-config.ts";

export const BEGIN = "<!-- config-table:begin (npx tsx scripts/config-table.ts --write) -->";
export const END = "<!-- config-table:end -->";

export function renderConfigTable(): string {
  const defaults = loadConfig({ env: {} }) as unknown as Record<string, unknown>;
  const at = (path: string): unknown =>
    path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], defaults);
  const show = (v: unknown): string =>
    v === undefined
      ? "unset"
      : v === ""
        ? "(empty)"
        : Array.isArray(v)
          ? v.join(",")
          : JSON.stringify(v).replace(/^"|"$/g, "");
  const rows = ENV_VARS.map((v) => `| \`${v.name}\` | \`${v.path}\` | \`${show(at(v.path))}\` | ${v.doc} |`);
  return [
    BEGIN,
    "| variable | config path | default | meaning |",
    "| --- | --- | --- | --- |",
    "| `PIPELINE_CONFIG` | (file) | unset | a JSON file with any part of the config; the environment overrides it |",
    "| `MODEL` | `training.models.*` | `bert-base-uncased`, `roberta-base` | one model for every family: a Hugging Face id or path, `minilm` or `tiny` |",
    ...rows,
    END,
  ].join("\n");
}

/** The README with the table rendered from the code, formatted as `npm run format` formats it. */
export async function readmeWithTable(readme: string): Promise<string> {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0) throw new Error("README.md lacks the config table markers");
  const path = join(import.meta.dirname, "..", "README.md");
  const options = (await prettier.resolveConfig(path)) ?? {};
  return prettier.format(readme.slice(0, start) + renderConfigTable() + readme.slice(end + END.length), {
    ...options,
    filepath: path,
  });
}

if (process.argv.includes("--write")) {
  const path = join(import.meta.dirname, "..", "README.md");
  writeFileSync(path, await readmeWithTable(readFileSync(path, "utf8")));
}
