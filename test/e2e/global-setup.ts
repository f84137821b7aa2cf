// Starts one emulator stack for the end-to-end suite (tiny model, few trials) and stops it after, however the suite ends.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { launchStack, type StackHandle } from "../../emulator/stack/client.ts";
import type { StackInfo } from "../../emulator/stack/stack.ts";
import { emulatorsMissing } from "../platform/emulators.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The running stack, or why the suite skips. */
    stack: { info: StackInfo; dir: string } | { skip: string };
  }
}

/** The trainer's Python environment, which the tune and train jobs need; null when it cannot be made here. */
function trainerMissing(): string | null {
  const r = spawnSync("bash", ["gpu-jobs/trainer/scripts/ensure-venv.sh"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status === 0) return null;
  const reason = `the trainer's Python environment is unavailable (gpu-jobs/trainer/scripts/ensure-venv.sh exited ${r.status})`;
  if (process.env.CI === "true") throw new Error(`CI needs ${reason}`);
  return reason;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const missing = emulatorsMissing() ?? trainerMissing();
  if (missing) {
    console.warn(`skipping the end-to-end suite: ${missing}`);
    project.provide("stack", { skip: missing });
    return () => Promise.resolve();
  }
  const dir = resolve(".local", "e2e", new Date().toISOString().replace(/[:.]/g, "-"));
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  let stack: StackHandle;
  try {
    stack = await launchStack({
      detached: false,
      stateDir: dir,
      logsDir: join(dir, "logs"),
      dataDir: join(dir, "data"),
      ports: "auto",
      storageBackend: "memory",
      // Preemption in the suite waits this long between SIGTERM and SIGKILL (Spot VMs get 30 s).
      vertexGraceSeconds: 10,
      processEnv: {
        ...process.env,
        PIPELINE_CONFIG: resolve("test/e2e/pipeline-config.json"),
        // The environment wins over the config file: pin what a developer's shell might set otherwise.
        MODEL: "tiny",
        TUNING_TRIALS: "2",
        // The suite kills and preempts the train job mid-training: it must train, not resume the best trial's
        // finished checkpoint (which it would, the trial being the same work), or there is nothing to interrupt.
        SP_REUSE_TUNED_CHECKPOINT: "0",
        TOPIC_PREFIX: "",
        BUCKET: "local-bucket",
      },
    });
  } catch (err) {
    if (process.env.CI === "true") throw err;
    const reason = `the emulator stack did not start: ${(err as Error).message}`;
    console.warn(`skipping the end-to-end suite: ${reason}`);
    project.provide("stack", { skip: reason });
    return () => Promise.resolve();
  }
  console.log(
    `emulator stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${join(dir, "logs")}`,
  );
  project.provide("stack", { info: stack.info, dir });
  return () => stack.stop();
}
