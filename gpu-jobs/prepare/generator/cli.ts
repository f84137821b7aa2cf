// `npm run gen-reviews -- --rows N --seed S --scenario clean|lowf1|biased --out FILE` (`--out -` for stdout):
// writes generated reviews as JSON lines.
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { once } from "node:events";
import { parseOptions } from "../../../schemas/suggest.ts";
import type { Writable } from "node:stream";
import { generateReviews } from "./generate-reviews.ts";
import { SCENARIO_NAMES, SCENARIOS, type ScenarioName } from "./scenarios.ts";

const USAGE = `usage: npm run gen-reviews -- --rows N --seed S --scenario NAME --out FILE

  --rows N         how many reviews (default 2000)
  --seed S         random seed (default 42): the same seed gives the same file
  --scenario NAME  ${SCENARIO_NAMES.map((n) => `${n}: ${SCENARIOS[n].what}`).join("\n                   ")}
  --out FILE       a .jsonl file, or - for stdout`;

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  values = parseOptions({
    options: {
      rows: { type: "string", default: "2000" },
      seed: { type: "string", default: "42" },
      scenario: { type: "string", default: "clean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const rows = Number(values.rows);
const seed = Number(values.seed);
if (!Number.isInteger(rows) || rows < 0) fail(`--rows must be a non-negative integer, got ${values.rows}`);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
  fail(`--seed must be an integer from 0 to 2^32-1, got ${values.seed}`);
if (!(SCENARIO_NAMES as readonly string[]).includes(values.scenario))
  fail(`--scenario must be one of ${SCENARIO_NAMES.join(", ")}`);
if (!values.out) fail("--out is required");

const toStdout = values.out === "-";
if (!toStdout) await mkdir(dirname(values.out), { recursive: true });
const out: Writable = toStdout ? process.stdout : createWriteStream(values.out);
let buffer = "";
let written = 0;
for (const review of generateReviews({ rows, seed, scenario: values.scenario as ScenarioName })) {
  buffer += `${JSON.stringify(review)}\n`;
  written += 1;
  if (buffer.length >= 1 << 20) {
    if (!out.write(buffer)) await once(out, "drain");
    buffer = "";
  }
}
if (toStdout) {
  if (!out.write(buffer)) await once(out, "drain");
} else {
  out.end(buffer);
  await once(out, "close");
  console.error(`wrote ${written} ${values.scenario} reviews (seed ${seed}) to ${values.out}`);
}
