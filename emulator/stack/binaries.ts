// Finds the programs the stack runs (Pub/Sub emulator, fake-gcs-server, pstest, MLflow) and says how to install a missing one.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Where emulator/install.sh puts the Go binaries: outside the repo, shared by checkouts. */
export function binDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SP_BIN_DIR ?? join(homedir(), ".cache", "sentiment-pipeline", "bin");
}

export class MissingPieceError extends Error {
  override readonly name = "MissingPieceError";
}

export interface Found {
  command: string;
  args: string[];
  /** What it is, for the start message. */
  describe: string;
}

/** The official emulator from the Google Cloud CLI (needs Java); null when either is missing. */
export function findPubSubEmulator(env: NodeJS.ProcessEnv = process.env): Found | null {
  if (!hasCommand("java")) return null;
  for (const root of sdkRoots(env)) {
    const script = join(root, "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator");
    if (existsSync(script)) return { command: script, args: [], describe: `Pub/Sub emulator (${script})` };
  }
  return null;
}

/** Google's Go fake built by emulator/install.sh when the official emulator is absent. */
export function findPstest(env: NodeJS.ProcessEnv = process.env): Found | null {
  const path = join(binDir(env), "pstest-server");
  return existsSync(path) ? { command: path, args: [], describe: `pstest (${path})` } : null;
}

export function findFakeGcs(env: NodeJS.ProcessEnv = process.env): Found | null {
  const path = env.SP_FAKE_GCS_SERVER ?? join(binDir(env), "fake-gcs-server");
  return existsSync(path) ? { command: path, args: [], describe: `fake-gcs-server (${path})` } : null;
}

export const INSTALL_HINTS = {
  pubsub:
    "No Pub/Sub emulator: install the Google Cloud CLI's emulator (`gcloud components install pubsub-emulator` and a Java 11+ runtime), " +
    "or build the Go fallback with `bash emulator/install.sh` (needs Go).",
  gcs: "No fake-gcs-server: run `bash emulator/install.sh` (installs it with `go install` into ~/.cache/sentiment-pipeline/bin; needs Go).",
  mlflow:
    "No MLflow: it comes with the trainer's environment; run `bash gpu-jobs/trainer/scripts/ensure-venv.sh`, or start the stack with --no-mlflow.",
} as const;

/** Google Cloud SDK folders: CLOUDSDK_ROOT_DIR, the one `gcloud` lives in, then the usual install places. */
function sdkRoots(env: NodeJS.ProcessEnv): string[] {
  const roots: string[] = [];
  if (env.CLOUDSDK_ROOT_DIR) roots.push(env.CLOUDSDK_ROOT_DIR);
  const gcloud = spawnSync("bash", ["-c", 'readlink -f "$(command -v gcloud)"'], { encoding: "utf8" });
  const path = gcloud.status === 0 ? gcloud.stdout.trim() : "";
  if (path) roots.push(join(path, "..", ".."));
  roots.push(
    "/usr/lib/google-cloud-sdk",
    "/usr/share/google-cloud-sdk",
    "/opt/google-cloud-sdk",
    join(homedir(), "google-cloud-sdk"),
  );
  return roots;
}

export function hasCommand(name: string): boolean {
  return spawnSync("bash", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}
