// `npm run prepare -- --input FILE --out DIR [--seed N] [--split-mode chronological]`: prepares a review file
// into a local folder (or gs:// with a configured store) with the config's defaults, and prints a short summary.
// npm also runs a script named "prepare" after `npm install` and `npm ci`: with no arguments there, do nothing.
if (process.argv.length <= 2 && (process.env.npm_command === "ci" || process.env.npm_command === "install")) {
  process.exit(0);
}

const { parseOptions } = await import("../../schemas/suggest.ts");
const { loadConfig, ConfigError } = await import("../../schemas/load-config.ts");
const { JsonLogger } = await import("../../platform/json-logger.ts");
const { makeDataIo, isGcsUri } = await import("./data-io.ts");
const { prepareData } = await import("./prepare-data.ts");
const { UnusableInputError } = await import("./input-format.ts");

const USAGE = `usage: npm run prepare -- --input FILE --out DIR [options]

  --input FILE           .jsonl, .jsonl.gz or .csv (local path or gs:// URI)
  --out DIR              folder for train/validation/test.jsonl, stats.json, rejected.jsonl
  --seed N               split seed (default: the config's data.seed)
  --split-mode MODE      stratified (default) or chronological
  --slice-columns A,B    slice columns (default: the config's rules.sliceColumns)
  --verbose              JSON log lines on stderr

The input may be UTF-8 or UTF-16 with a byte-order mark, with LF, CRLF or CR line ends. --out must be a folder
other than the one holding the input, so that no output can overwrite it.

Exit status: 0 prepared (also when many rows were rejected: see the summary), 1 the file is unusable, 2 bad arguments.`;

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

let args;
try {
  args = parseOptions({
    options: {
      input: { type: "string" },
      out: { type: "string" },
      seed: { type: "string" },
      "split-mode": { type: "string" },
      "slice-columns": { type: "string" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`, 2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!args.input || !args.out) fail(`--input and --out are required\n\n${USAGE}`, 2);
const { locationProblem } = await import("./cli-locations.ts");
let problem;
try {
  problem = locationProblem(args.input, args.out);
} catch (err) {
  problem = `cannot check --input and --out: ${(err as Error).message}`;
}
if (problem) fail(`prepare: ${problem}`, 2);

let config;
try {
  const data: Record<string, unknown> = {};
  if (args.seed !== undefined) {
    if (!/^\d+$/.test(args.seed))
      fail(`--seed must be a non-negative integer, got ${JSON.stringify(args.seed)}`, 2);
    data.seed = Number(args.seed);
  }
  if (args["split-mode"] !== undefined) data.splitMode = args["split-mode"];
  const rules: Record<string, unknown> = {};
  if (args["slice-columns"] !== undefined)
    rules.sliceColumns = args["slice-columns"]
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  config = loadConfig({ overrides: { data, rules } });
} catch (err) {
  if (err instanceof ConfigError) fail(err.message.replace("invalid pipeline config", "invalid option"), 2);
  throw err;
}

const log = new JsonLogger({
  labels: { component: "prepare-cli" },
  minSeverity: args.verbose ? "DEBUG" : "CRITICAL",
  write: (line) => process.stderr.write(`${line}\n`),
});
const needsStore = isGcsUri(args.input) || isGcsUri(args.out);
// The cloud clients take seconds to load: only for gs:// locations.
const io = makeDataIo(
  needsStore ? (await import("../../platform/composition-root.ts")).createObjectStore(config) : null,
);

try {
  const { stats, locations, failure } = await prepareData({
    input: args.input,
    outDir: args.out,
    sliceColumns: config.rules.sliceColumns,
    data: config.data,
    io,
    log,
  });
  const reasons = Object.entries(stats.rejectedByReason)
    .sort(([, a], [, b]) => b - a)
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
  const { train, validation, test } = stats.splits;
  const labels = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
    .map((l) => `${l} ${(train.byLabel[l] ?? 0) + (validation.byLabel[l] ?? 0) + (test.byLabel[l] ?? 0)}`)
    .join(", ");
  console.log(`prepared ${args.input} (${stats.format}, ${stats.schema})`);
  console.log(
    `  rows: read ${stats.rowsRead}, kept ${stats.rowsKept}, rejected ${stats.rowsRejected}${reasons ? ` (${reasons})` : ""}`,
  );
  console.log(
    `  splits (${stats.splitMode}, seed ${stats.seed}): train ${train.rows}, validation ${validation.rows}, test ${test.rows}`,
  );
  console.log(
    `  labels: ${labels}; from a label column ${stats.labelSource.column}, from ratings ${stats.labelSource.rating}`,
  );
  console.log(
    `  wrote ${locations.train}, ${locations.validation}, ${locations.test}, ${locations.stats}, ${locations.rejected}`,
  );
  if (failure) {
    console.log(`  warning: a pipeline run would fail on this file: ${failure}`);
    // Standalone, only a file with nothing usable in it is an error.
    if (stats.rowsKept === 0) process.exitCode = 1;
  }
} catch (err) {
  if (err instanceof UnusableInputError) fail(`prepare: ${err.message}`, 1);
  if ((err as NodeJS.ErrnoException).code === "ENOENT") fail(`prepare: no such file: ${args.input}`, 1);
  // Anything else (a folder that cannot be written, a store that refuses) is one line too; --verbose adds the trace.
  if (args.verbose) console.error((err as Error).stack);
  fail(`prepare: ${(err as Error).message}`, 1);
}
