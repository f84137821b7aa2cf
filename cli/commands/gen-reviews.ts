// `sentiment-pipeline gen-reviews ...`: the review generator of the prepare job, for demo and test uploads.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../platform/local/trainer-python.ts";
import type { Io } from "../args.ts";

export const GEN_REVIEWS_USAGE = `usage: sentiment-pipeline gen-reviews --rows N --seed S --scenario clean|lowf1|biased --out FILE

Writes generated reviews as JSON lines (the generator of gpu-jobs/prepare/generator; --help there lists the
scenarios). Then: sentiment-pipeline run FILE.`;

/** Runs the generator's own command line, so its options, checks and messages stay in one place. */
export function genReviewsCommand(argv: string[], io: Io): Promise<number> {
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
