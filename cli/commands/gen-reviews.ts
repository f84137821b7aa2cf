// `sentiment-pipeline gen-reviews ...`: the review generator of the prepare job, for demo and test uploads.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../platform/local/trainer-python.ts";
import { parse, type Io } from "../args.ts";

export const GEN_REVIEWS_USAGE = `usage: sentiment-pipeline gen-reviews --rows N --seed S --scenario clean|lowf1|biased --out FILE

Writes generated reviews as JSON lines (the generator of gpu-jobs/prepare/generator; --help there lists the
scenarios). Then: sentiment-pipeline run FILE.`;

const OPTIONS = {
  rows: { type: "string" },
  seed: { type: "string" },
  scenario: { type: "string" },
  out: { type: "string" },
} as const;

/**
 * Parses the generator's flags as every command parses its own (a mistyped one gets "did you mean", the global ones
 * are taken), then runs the generator's own command line, so that its checks and messages stay in one place. With
 * --json and a file, one JSON line says what was written.
 */
export async function genReviewsCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, OPTIONS, GEN_REVIEWS_USAGE);
  if (values.help) {
    io.out.write(`${GEN_REVIEWS_USAGE}\n`);
    return 0;
  }
  const flags = (Object.keys(OPTIONS) as (keyof typeof OPTIONS)[]).flatMap((k) =>
    values[k] !== undefined ? [`--${k}`, values[k]] : [],
  );
  const code = await runGenerator(flags, io);
  if (code === 0 && values.json && values.out && values.out !== "-")
    io.out.write(
      `${JSON.stringify({
        out: values.out,
        rows: Number(values.rows ?? 2000),
        seed: Number(values.seed ?? 42),
        scenario: values.scenario ?? "clean",
      })}\n`,
    );
  return code;
}

function runGenerator(argv: string[], io: Io): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "gpu-jobs/prepare/generator/cli.ts"), ...argv],
      { stdio: ["ignore", "inherit", "inherit"], env: io.env },
    );
    const stop = () => child.kill("SIGINT");
    io.signal.addEventListener("abort", stop, { once: true });
    child.on("error", (err) => {
      io.err.write(`could not start the generator: ${err.message}\n`);
      resolve(1);
    });
    child.on("close", (code) => {
      io.signal.removeEventListener("abort", stop);
      // The generator exits 2 on bad arguments; here every usage error is 1.
      resolve(code === 0 ? 0 : code === 2 ? 1 : (code ?? 1));
    });
  });
}
