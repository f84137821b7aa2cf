// Test support: start the emulator stack in its own supervisor process (stopped even if the test process dies), or skip.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { findFakeGcs, findPstest, findPubSubEmulator, INSTALL_HINTS } from "../../emulator/stack/binaries.ts";
import { launchStack, type StackHandle } from "../../emulator/stack/client.ts";
import type { StackOptions } from "../../emulator/stack/stack.ts";

/** Why the emulators cannot run here, or null when they can. Under CI a missing piece is an error, not a skip. */
export function emulatorsMissing(): string | null {
  const missing: string[] = [];
  if (!findPubSubEmulator() && !findPstest()) missing.push(INSTALL_HINTS.pubsub);
  if (!findFakeGcs()) missing.push(INSTALL_HINTS.gcs);
  if (missing.length === 0) return null;
  const reason = missing.join(" ");
  if (process.env.CI === "true") throw new Error(`CI needs the emulators: ${reason}`);
  console.warn(`skipping emulator tests: ${reason}`);
  return reason;
}

/**
 * Whether the pstest fallback is absent. emulator/install.sh builds it even beside the official emulator, so under CI
 * it is an error unless SP_SKIP_PSTEST=1 asked the installer to leave it out.
 */
export function pstestMissing(): boolean {
  if (findPstest()) return false;
  if (process.env.CI === "true" && process.env.SP_SKIP_PSTEST !== "1")
    throw new Error(`CI needs the pstest fallback: ${INSTALL_HINTS.pubsub}`);
  return true;
}

export type EmulatorOptions = Partial<
  Omit<StackOptions, "config" | "log" | "logsDir" | "dataDir" | "ports">
> & {
  /** Environment of the stack's processes (the pipeline config is read from it). */
  env?: NodeJS.ProcessEnv;
  name?: string;
};

let seq = 0;

/** A stack on free ports with its logs under .local/test-emulators/NAME-PID-N/, stopped by `stop()`. */
export async function startEmulators(options: EmulatorOptions = {}): Promise<StackHandle> {
  const { env, name, ...stack } = options;
  const dir = resolve(".local", "test-emulators", `${name ?? "stack"}-${process.pid}-${++seq}`);
  mkdirSync(dir, { recursive: true });
  return launchStack({
    detached: false,
    stateDir: dir,
    logsDir: join(dir, "logs"),
    dataDir: join(dir, "data"),
    ports: "auto",
    functions: [],
    mlflow: false,
    vertex: false,
    storageBackend: "memory",
    ...stack,
    processEnv: { ...process.env, ...env },
  });
}

/** A name no other test (or test run on this machine) uses: topics, buckets, runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
