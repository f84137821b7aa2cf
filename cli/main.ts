// The `sentiment-pipeline` command line: run, watch, status, runs, retrigger, report, gen-reviews, mlflow.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../schemas/load-config.ts";
import { UnknownRunError } from "../report/run-files.ts";
import type { Io } from "./args.ts";
import { UsageError } from "./context.ts";
import { EXIT, EXIT_CODES_HELP } from "./exit-codes.ts";
import { didYouMean } from "../schemas/suggest.ts";
import { terminalOf } from "./follow/printers.ts";
import { genReviewsCommand } from "./commands/gen-reviews.ts";
import { mlflowCommand } from "./commands/mlflow.ts";
import { reportCommand } from "./commands/report.ts";
import { retriggerCommand } from "./commands/retrigger.ts";
import { runCommand } from "./commands/run.ts";
import { runsCommand } from "./commands/runs.ts";
import { statusCommand } from "./commands/status.ts";
import { watchCommand } from "./commands/watch.ts";

export const USAGE = `usage: sentiment-pipeline COMMAND [options]

commands:
  run FILE                      upload a review file, which starts a run, and follow it to its outcome
  watch RUN                     follow a run live: steps, attempts, elapsed time, trials, epochs, batches
  status [RUN]                  where a run stands and why (the latest run without RUN)
  runs                          recent runs with their outcomes
  retrigger RUN --from STEP --reason TEXT
                                restart a run from a step
  report RUN                    render the run's HTML report and print where it is
  gen-reviews --rows N --scenario NAME --out FILE
                                generate reviews to upload
  mlflow                        browse the local MLflow tracking store

options for every command:
  --json           machine-readable output (one JSON object per line)
  --config FILE    a pipeline config file (else PIPELINE_CONFIG)
  --mode MODE      embedded (default), emulators or gcp (else PIPELINE_MODE)
  -h, --help       help for the command

Plain text when stdout is not a terminal. \`sentiment-pipeline COMMAND --help\` tells more.

${EXIT_CODES_HELP}`;

const COMMANDS: Record<string, (argv: string[], io: Io) => Promise<number>> = {
  run: runCommand,
  watch: watchCommand,
  status: statusCommand,
  runs: runsCommand,
  retrigger: retriggerCommand,
  report: reportCommand,
  "gen-reviews": genReviewsCommand,
  mlflow: mlflowCommand,
};

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help" || command === "help") {
    io.out.write(`${USAGE}\n`);
    return command ? EXIT.ok : EXIT.usage;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    io.err.write(
      `unknown command ${JSON.stringify(command)}${didYouMean(command, Object.keys(COMMANDS))}\n\n${USAGE}\n`,
    );
    return EXIT.usage;
  }
  try {
    return await handler(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof UnknownRunError) {
      io.err.write(`sentiment-pipeline ${command}: ${err.message}\n`);
      return EXIT.usage;
    }
    io.err.write(`sentiment-pipeline ${command}: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.usage;
  }
}

/** The process: real streams, Ctrl-C as an abort signal (a second Ctrl-C exits at once). */
export async function runProcess(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  });
  const code = await main(process.argv.slice(2), {
    out: terminalOf(process.stdout),
    err: terminalOf(process.stderr),
    env: process.env,
    signal: controller.signal,
  });
  process.exitCode = code;
}

// Run directly (`tsx cli/main.ts`) as well as through the bin's launcher, which calls runProcess itself.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runProcess();
