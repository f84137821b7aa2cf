// Four uploads at once: three usable (one of whose training is preempted as a Spot VM is) and one the pipeline cannot use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunState } from "../../schemas/run-state.ts";
import type { PipelineClient } from "../../emulator/stack/pipeline-client.ts";
import { cleanUpload, client, jobsOf, stack, trainingWithCheckpoint, uploadName } from "./support.ts";

describe.skipIf(!stack)("uploads arriving together", () => {
  let c: PipelineClient;
  const good: string[] = [];
  let bad = "";
  let preempted = "";
  const states = new Map<string, RunState>();

  beforeAll(async () => {
    c = client();
    const valid = cleanUpload().toString().trim().split("\n");
    const garbage = [
      ...valid.slice(0, 10),
      ...Array.from({ length: 20 }, (_, i) => `not json at all ${i}`),
      ...Array.from({ length: 20 }, (_, i) => JSON.stringify({ rating: "five", text: i, title: null })),
    ].join("\n");
    const uploads = await Promise.all([
      ...[1, 2, 3].map((i) => c.upload(cleanUpload(), uploadName(`together${i}`))),
      c.upload(`${garbage}\n`, uploadName("garbage")),
    ]);
    good.push(...uploads.slice(0, 3).map((u) => u.runId));
    bad = uploads[3]!.runId;
    preempted = good[0]!;
    const finished = Promise.all([...good, bad].map((id) => c.waitForRun(id, { timeoutMs: 14 * 60_000 })));
    // Preempt the first run's training once it has a checkpoint: SIGTERM, the grace period, a new replica.
    const job = await trainingWithCheckpoint(c, preempted);
    await c.preempt(job);
    for (const s of await finished) states.set(s.runId, s);
  }, 15 * 60_000);

  afterAll(async () => {
    await c?.close();
  });

  it("runs three uploads that arrive at once as three independent runs", async () => {
    expect(new Set(good).size).toBe(3);
    for (const id of good) {
      const state = states.get(id)!;
      // Each compares itself with whichever champion was registered before it: promoted or not better, on its own.
      expect(["promoted", "not_better"], id).toContain(state.outcome);
      expect(state.source.name).toContain("together");
      const { jobs, duplicates } = await jobsOf(c, id);
      expect(duplicates).toEqual([]);
      expect(jobs).toHaveLength(4);
      expect(jobs.every((j) => j.labels.run_id === id && j.state === "JOB_STATE_SUCCEEDED")).toBe(true);
    }
    const folders = await Promise.all(good.map((id) => c.store.list(`gs://${c.bucket}/runs/${id}/`)));
    for (const [i, uris] of folders.entries()) {
      expect(uris.length).toBeGreaterThan(5);
      expect(uris.every((u) => u.includes(`/runs/${good[i]}/`))).toBe(true);
    }
  });

  it("restarts a preempted training replica in place, and it resumes from its checkpoint", async () => {
    const state = states.get(preempted)!;
    // Resumed inside the same job: no failure, no second attempt.
    expect(state.steps.train.attempt).toBe(1);
    const { jobs } = await jobsOf(c, preempted);
    expect(jobs.filter((j) => j.displayName.includes("-train-")).map((j) => j.state)).toEqual([
      "JOB_STATE_SUCCEEDED",
    ]);
    const report = JSON.parse(
      (await c.store.read(`gs://${c.bucket}/runs/${preempted}/train/a1/training.json`)).toString(),
    ) as {
      resumedFrom: number | null;
    };
    expect(report.resumedFrom).toBeGreaterThanOrEqual(1);
  });

  it("fails the run of an unusable upload with its reason, once, and keeps the rejected rows", async () => {
    const state = states.get(bad)!;
    expect(state.outcome).toBe("failed");
    expect(state.trail.at(-1)?.decision).toMatch(/unusable input.*rejected/i);
    const rejected = (await c.store.read(`gs://${c.bucket}/runs/${bad}/prepare/a1/rejected.jsonl`))
      .toString()
      .trim()
      .split("\n");
    expect(rejected).toHaveLength(40);
    // Not retried: retrying cannot make the file usable.
    const { jobs } = await jobsOf(c, bad);
    expect(jobs.map((j) => j.displayName.replace(bad, "RUN"))).toEqual(["sp-RUN-prepare-a1"]);
  });
});
