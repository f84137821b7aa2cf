// Test support: the Vertex stand-in in-process with a scripted job command, and job specs to launch on it.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../schemas/load-config.ts";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import type { JobStateLogEntry } from "../../events/job-state.ts";
import { LocalReplicaLauncher } from "../../emulator/vertex/replica-launcher.ts";
import { VertexStandIn } from "../../emulator/vertex/server.ts";
import { VertexJobLauncher } from "../../platform/gcp/vertex-job-launcher.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

/**
 * The job every image runs in these tests: it records its environment, arguments and CLUSTER_SPEC in `<dir>/<CLOUD_ML_JOB_ID>.json`,
 * then behaves as its first argument says: `ok`, `fail` (exit 1), `sleep` (until killed), `resume` (exit 0 only if an
 * earlier run of the same job left a checkpoint, else write one and sleep until preempted).
 */
const SCRIPT = `
const fs = require("node:fs");
const [dir, mode] = process.argv.slice(2);
const id = process.env.CLOUD_ML_JOB_ID;
const record = { env: { AIP_MODEL_DIR: process.env.AIP_MODEL_DIR, AIP_CHECKPOINT_DIR: process.env.AIP_CHECKPOINT_DIR,
  CLOUD_ML_JOB_ID: id, SP_MARK: process.env.SP_MARK }, args: process.argv.slice(3), cluster: process.env.CLUSTER_SPEC };
fs.appendFileSync(dir + "/" + id + ".runs", JSON.stringify(record) + "\\n");
const checkpoint = dir + "/" + id + ".ckpt";
process.on("SIGTERM", () => { fs.writeFileSync(checkpoint, "epoch 1"); process.exit(143); });
if (mode === "ok") process.exit(0);
if (mode === "fail") { console.error("boom"); process.exit(1); }
if (mode === "resume" && fs.existsSync(checkpoint)) process.exit(0);
setInterval(() => {}, 1000);
`;

export interface StandInHarness {
  standIn: VertexStandIn;
  config: PipelineConfig;
  entries: JobStateLogEntry[];
  dir: string;
  log: CapturingLogger;
  close(): Promise<void>;
}

export async function startStandIn(): Promise<StandInHarness> {
  const dir = mkdtempSync(join(tmpdir(), "sp-vertex-"));
  const script = join(dir, "job.cjs");
  writeFileSync(script, SCRIPT);
  const config = loadConfig({
    env: {},
    overrides: {
      runtime: {
        localCommands: { jobs: [process.execPath, script, dir], trainer: [process.execPath, script, dir] },
      },
    },
  });
  const entries: JobStateLogEntry[] = [];
  const log = new CapturingLogger();
  const standIn = await VertexStandIn.start({
    launcher: new LocalReplicaLauncher({ config, logFileOf: (s) => join(dir, `${s.jobId}.log`) }),
    log,
    port: 0,
    adminPort: 0,
    graceSeconds: 2,
    onEntry: (e) => {
      entries.push(e);
      return Promise.resolve();
    },
  });
  return { standIn, config, entries, dir, log, close: () => standIn.close() };
}

/**
 * The stand-in and a VertexJobLauncher on it, through the official client, for the tests of the enclosing file or
 * describe block: started before them, closed after. Read `h` and `launcher` inside the tests.
 */
export function standInWithLauncher(): { readonly h: StandInHarness; readonly launcher: VertexJobLauncher } {
  const t = {} as { h: StandInHarness; launcher: VertexJobLauncher };
  beforeAll(async () => {
    t.h = await startStandIn();
    t.launcher = new VertexJobLauncher({
      projectId: "local-project",
      region: "us-central1",
      endpoint: t.h.standIn.endpoint,
    });
  });
  afterAll(async () => {
    await t.launcher?.close();
    await t.h?.close();
  });
  return t;
}

/** What the scripted job recorded of one run: its environment, arguments and CLUSTER_SPEC. */
export interface JobRun {
  env: Record<string, string>;
  args: string[];
  cluster: string;
}

/** Every run of a job (its name ends in the numeric id the records are filed under), oldest first. */
export function runsOf(h: StandInHarness, jobId: string): JobRun[] {
  const file = join(h.dir, `${jobId.split("/").pop()}.runs`);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as JobRun);
}

let seq = 0;

/** A valid job spec; `mode` is the scripted job's behaviour. */
export function jobSpec(mode: "ok" | "fail" | "sleep" | "resume", overrides: Partial<JobSpec> = {}): JobSpec {
  const runId = `run-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 6)}`;
  const step = overrides.step ?? "train";
  const attempt = overrides.attempt ?? 1;
  return {
    jobName: `sp-${runId}-${step}-a${attempt}`,
    runId,
    step,
    attempt,
    image: step === "train" || step === "tune" ? "trainer" : "jobs",
    imageUri: `us-central1-docker.pkg.dev/local-project/sentiment-pipeline/${step === "train" || step === "tune" ? "trainer" : "jobs"}:latest`,
    args: [mode, "--run-id", runId],
    env: { SP_MARK: "from-spec" },
    machine: {
      machineType: "g2-standard-8",
      acceleratorType: "NVIDIA_L4",
      acceleratorCount: 1,
      spot: false,
      bootDiskGb: 100,
      timeoutSeconds: 3600,
      replicaCount: 1,
    },
    outputDir: `gs://local-bucket/runs/${runId}/${step}/a${attempt}`,
    ...overrides,
  };
}

/** Polls until `check` returns a value, or fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined> | T | null | undefined,
  ms = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
