// Runs gcloud: the port the executor uses, and the real implementation that spawns the CLI without a shell.
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs `gcloud ARGS`; never throws for a non-zero exit, only when gcloud cannot be started. */
  run(args: readonly string[]): Promise<CommandResult>;
}

export class GcloudRunner implements CommandRunner {
  constructor(
    private readonly bin = "gcloud",
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  run(args: readonly string[]): Promise<CommandResult> {
    return new Promise((resolvePromise, reject) => {
      // CLOUDSDK_CORE_DISABLE_PROMPTS: never wait for an answer nobody will type.
      const child = spawn(this.bin, [...args], {
        env: { ...this.env, CLOUDSDK_CORE_DISABLE_PROMPTS: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.on("error", (e) =>
        reject(
          new Error(`cannot run ${this.bin}: ${e.message} (is the Google Cloud CLI installed and on PATH?)`),
        ),
      );
      child.on("close", (code) =>
        resolvePromise({
          code: code ?? 1,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        }),
      );
    });
  }
}
