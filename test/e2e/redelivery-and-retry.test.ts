// Every message delivered twice and out of order, and the training job killed mid-run: Vertex restarts it in place, one job per attempt.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunState } from "../../schemas/run-state.ts";
import { VertexJobLauncher } from "../../platform/gcp/vertex-job-launcher.ts";
import type { Delivery } from "../../emulator/stack/relay.ts";
import type { PipelineClient } from "../../emulator/stack/pipeline-client.ts";
import {
  cleanUpload,
  client,
  eventually,
  jobsOf,
  stack,
  trainingWithCheckpoint,
  uploadName,
} from "./support.ts";

describe.skipIf(!stack)("a run under duplicated, reordered delivery whose training job is killed", () => {
  let c: PipelineClient;
  let runId = "";
  let state: RunState;
  let deliveries: Delivery[] = [];

  beforeAll(async () => {
    c = client();
    await c.clearDeliveries();
    // Each delivery is made twice, each copy after its own random delay of up to 400 ms.
    await c.setChaos({ duplicate: true, maxDelayMs: 400 });
    try {
      ({ runId } = await c.upload(cleanUpload(), uploadName("twice-killed")));
      const job = await trainingWithCheckpoint(c, runId);
      // An out-of-memory kill or a crashed VM: no SIGTERM, no chance to clean up.
      await c.kill(job, "SIGKILL");
      state = await c.waitForRun(runId, { timeoutMs: 10 * 60_000 });
      // The run completes on the first copy of its last message; the second copy is handled after it, and each
      // handling waits out Cloud Storage's one write a second to state.json: wait until every copy is in.
      deliveries = await eventually(
        async () => {
          const all = await c.deliveries();
          const copies = new Map<string, number>();
          for (const d of all.filter((x) => x.attributes.runId === runId))
            copies.set(
              `${d.subscription}/${d.messageId}`,
              (copies.get(`${d.subscription}/${d.messageId}`) ?? 0) + 1,
            );
          return [...copies.values()].every((n) => n >= 2) ? all : null;
        },
        60_000,
        "the second copy of every delivery",
      ).catch(() => c.deliveries());
    } finally {
      await c.setChaos({ duplicate: false, maxDelayMs: 0 });
    }
  }, 12 * 60_000);

  afterAll(async () => {
    await c?.close();
  });

  it("lets Vertex restart the killed training in place, from its checkpoint, without a pipeline retry", async () => {
    // The run completes: it is compared with its line's champion, which the suite's earlier files may have registered,
    // so promoted or not better, as in concurrent-uploads. What this test proves is the restart in place.
    expect(["promoted", "not_better"]).toContain(state.outcome);
    // Vertex restarts a replica that exits non-zero: the pipeline's own retry must not run a second job on top.
    expect(state.steps.train.attempt).toBe(1);
    const { jobs } = await jobsOf(c, runId);
    const byName = Object.fromEntries(jobs.map((j) => [j.displayName.replace(runId, "RUN"), j]));
    expect(byName["sp-RUN-train-a1"]?.state).toBe("JOB_STATE_SUCCEEDED");
    const launcher = new VertexJobLauncher({
      projectId: c.projectId,
      region: stack!.env.GOOGLE_CLOUD_REGION!,
      endpoint: stack!.endpoints.vertex!,
    });
    try {
      const [a1] = await (await launcher.jobClient()).getCustomJob({ name: byName["sp-RUN-train-a1"]!.name });
      expect(a1.jobSpec?.scheduling?.strategy).toBe("SPOT");
    } finally {
      await launcher.close();
    }
  });

  it("starts exactly one Vertex job per step attempt although every message arrived twice", async () => {
    const { jobs, duplicates } = await jobsOf(c, runId);
    expect(duplicates).toEqual([]);
    expect(jobs.map((j) => j.displayName.replace(runId, "RUN")).sort()).toEqual(
      ["sp-RUN-prepare-a1", "sp-RUN-tune-a1", "sp-RUN-train-a1", "sp-RUN-evaluate-a1"].sort(),
    );
  });

  it("really delivered every message of the run twice, and out of order", () => {
    const mine = deliveries.filter((d) => d.attributes.runId === runId);
    const copies = new Map<string, number>();
    for (const d of mine)
      copies.set(
        `${d.subscription}/${d.messageId}`,
        (copies.get(`${d.subscription}/${d.messageId}`) ?? 0) + 1,
      );
    expect(copies.size).toBeGreaterThanOrEqual(6);
    for (const [key, n] of copies) expect(n, key).toBeGreaterThanOrEqual(2);
    // Some message was handled before one published earlier than it (job state entries come in bursts).
    const first = new Map<string, Delivery>();
    for (const d of [...deliveries].sort((a, b) => a.handledAt - b.handledAt)) {
      if (!first.has(`${d.subscription}/${d.messageId}`)) first.set(`${d.subscription}/${d.messageId}`, d);
    }
    const list = [...first.values()];
    const overtaken = list.filter((a) =>
      list.some((b) => Date.parse(b.publishTime) > Date.parse(a.publishTime) && b.handledAt < a.handledAt),
    );
    expect(overtaken.length).toBeGreaterThan(0);
  });
});
