// End-to-end support: the suite's stack, generated uploads, and checks every run must pass (one job per step attempt).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inject } from "vitest";
import type { Message } from "@google-cloud/pubsub";
import { PipelineClient, type VertexJobSummary } from "../../emulator/stack/pipeline-client.ts";
import type { StackInfo } from "../../emulator/stack/stack.ts";
import { keepSubscription } from "../../emulator/stack/topology.ts";
import { parseJobName } from "../../schemas/names.ts";

const provided = inject("stack");
/** The suite's stack, or null when the suite skips (the reason was printed by the global setup). */
export const stack: StackInfo | null = "info" in provided ? provided.info : null;
export const stackDir: string = "dir" in provided ? provided.dir : "";

export function client(): PipelineClient {
  if (!stack) throw new Error("no stack");
  return new PipelineClient(stack);
}

/** Generated reviews (the project's generator, seeded), cached between runs of the suite. */
export function reviews(rows: number, scenario: "clean" | "lowf1" | "biased" = "clean", seed = 7): Buffer {
  const dir = resolve(".local", "e2e-inputs");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${scenario}-${rows}-s${seed}.jsonl`);
  if (!existsSync(file)) {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "gpu-jobs/prepare/generator/cli.ts",
        "--rows",
        String(rows),
        "--seed",
        String(seed),
        "--scenario",
        scenario,
        "--out",
        file,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    if (r.status !== 0) throw new Error(`the review generator exited ${r.status}`);
  }
  return readFileSync(file);
}

let seq = 0;
/** An upload file name no other test or suite run uses: a new run each time. */
export function uploadName(tag: string): string {
  return `e2e-${tag}-${process.pid.toString(36)}${Date.now().toString(36)}${++seq}.jsonl`;
}

const TERMINAL = ["JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"];

/**
 * The Vertex jobs of one run once each has ended, and the check that no step attempt ever got a second CustomJob. A
 * job ends when its process exits, which can be seconds after it published its result and the run moved on.
 */
export async function jobsOf(
  c: PipelineClient,
  runId: string,
): Promise<{ jobs: VertexJobSummary[]; duplicates: string[] }> {
  const { jobs, createCalls } = await eventually(
    async () => {
      const all = await c.vertexJobs();
      const mine = all.jobs.filter((j) => parseJobName(j.displayName)?.runId === runId);
      return mine.every((j) => TERMINAL.includes(j.state)) ? all : null;
    },
    90_000,
    `the jobs of ${runId} to end`,
  );
  const mine = jobs.filter((j) => parseJobName(j.displayName)?.runId === runId);
  const duplicates = Object.entries(createCalls)
    .filter(([name, n]) => parseJobName(name)?.runId === runId && n !== 1)
    .map(([name, n]) => `${name} created ${n} times`);
  const byName = new Map<string, number>();
  for (const j of mine) byName.set(j.displayName, (byName.get(j.displayName) ?? 0) + 1);
  for (const [name, n] of byName) if (n > 1) duplicates.push(`${name} has ${n} jobs`);
  return { jobs: mine, duplicates };
}

/** Polls until `check` returns a value, or fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(ms / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Everything that reaches a dead-letter topic's keep subscription while `body` runs, and a little after. */
export async function collectDeadLetters(
  c: PipelineClient,
  deadLetterTopics: string[],
  body: () => Promise<void>,
  settleMs = 15_000,
): Promise<Map<string, Message[]>> {
  const got = new Map<string, Message[]>(deadLetterTopics.map((t) => [t, []]));
  const subs = deadLetterTopics.map((t) => {
    const sub = c.pubsub.subscription(keepSubscription(t));
    sub.on("message", (m: Message) => {
      m.ack();
      got.get(t)!.push(m);
    });
    return sub;
  });
  try {
    await body();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    await Promise.all(subs.map((s) => s.close()));
  }
  return got;
}

/** The suite's upload: the generated 2,000-row clean file (seed 7), big enough that the tiny model's export checks hold. */
export function cleanUpload(): Buffer {
  return reviews(2000, "clean", 7);
}

/** Waits until the run's train job runs and has saved a checkpoint, so a fault hits it mid-training; its display name. */
export async function trainingWithCheckpoint(c: PipelineClient, runId: string, attempt = 1): Promise<string> {
  const job = `sp-${runId}-train-a${attempt}`;
  await eventually(
    async () =>
      (await c.vertexJobs()).jobs.some((j) => j.displayName === job && j.state === "JOB_STATE_RUNNING"),
    10 * 60_000,
    `${job} to run`,
  );
  await eventually(
    async () =>
      (await c.store.list(`gs://${c.bucket}/runs/${runId}/train/a${attempt}/checkpoints/`)).some((u) =>
        u.endsWith("checkpoint.pt"),
      ),
    5 * 60_000,
    `${job}'s first checkpoint`,
  );
  return job;
}
