// A clean upload through the emulator stack, with a malformed message on every topic while it runs.
import { describe, expect, it } from "vitest";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { TOPICS, TOPIC_KEYS, deadLetterTopicId, topicId } from "../../events/topics.ts";
import { VertexModelRegistry } from "../../platform/gcp/vertex-model-registry.ts";
import { JOB_STEPS } from "../../schemas/names.ts";
import { v1 } from "@google-cloud/aiplatform";
import { vertexClientOptions } from "../../platform/gcp/vertex-client-options.ts";
import { tuningJobName } from "../../gpu-jobs/tune/job.ts";
import { cleanUpload, client, collectDeadLetters, eventually, jobsOf, stack, uploadName } from "./support.ts";

describe.skipIf(!stack)("a clean upload over the emulators", () => {
  it("runs every step as a Vertex job, registers the model as champion and is promoted, while malformed messages on every topic are dead-lettered", async () => {
    const c = client();
    const events: PipelineEvent[] = [];
    await c.watchEvents((e) => void (e && events.push(e)));
    const marker = `malformed-${Date.now().toString(36)}`;
    const consumed = TOPIC_KEYS.filter((k) => TOPICS[k].consumers.length > 0);
    let runId = "";
    const name = uploadName("clean");
    try {
      const dead = await collectDeadLetters(
        c,
        consumed.map((k) => deadLetterTopicId(k, c.topicPrefix)),
        async () => {
          ({ runId } = await c.upload(cleanUpload(), name));
          // Once the run is under way, every topic gets a message no function can handle.
          await eventually(
            async () => (await c.runState(runId))?.currentStep === "tune",
            5 * 60_000,
            "the run to reach tuning",
          );
          for (const key of TOPIC_KEYS) {
            await c.pubsub
              .topic(topicId(key, c.topicPrefix))
              .publishMessage({ data: Buffer.from(`{"${marker}":"${key}"}`), attributes: { marker } });
          }
          const state = await c.waitForRun(runId, { timeoutMs: 8 * 60_000 });
          expect(state.outcome).toBe("promoted");
        },
      );

      // Each consumed topic kept its malformed message beside it, with the reason; nothing else was dead-lettered.
      for (const key of consumed) {
        const letters = dead
          .get(deadLetterTopicId(key, c.topicPrefix))!
          .filter((m) => m.data.toString().includes(marker));
        expect(letters, `dead letters of ${key}`).toHaveLength(1);
        expect(letters[0]!.attributes.deadLetterReason, `reason of ${key}`).toBeTruthy();
      }
      // The bucket notifies uploads/ only: start-run got this upload, and none of the run's own writes.
      const notified = (await c.deliveries())
        .filter((d) => d.fn === "start-run")
        .map((d) => d.attributes.objectId ?? "");
      expect(notified).toContain(`uploads/${name}`);
      expect(notified.filter((n) => n !== "" && !n.startsWith("uploads/"))).toEqual([]);

      const state = (await c.runState(runId))!;
      for (const step of JOB_STEPS) expect(state.steps[step], step).toMatchObject({ attempt: 1 });
      const { jobs, duplicates } = await jobsOf(c, runId);
      expect(duplicates).toEqual([]);
      expect(jobs.map((j) => [j.displayName.replace(runId, "RUN"), j.state]).sort()).toEqual(
        [
          ["sp-RUN-evaluate-a1", "JOB_STATE_SUCCEEDED"],
          ["sp-RUN-prepare-a1", "JOB_STATE_SUCCEEDED"],
          ["sp-RUN-train-a1", "JOB_STATE_SUCCEEDED"],
          ["sp-RUN-tune-a1", "JOB_STATE_SUCCEEDED"],
        ].sort(),
      );

      // The suite's config trains on 2 replicas (test/e2e/pipeline-config.json): the stand-in ran the chief and the
      // worker, each a torchrun node of one gloo process, and rank 0 wrote the report.
      const training = JSON.parse(
        (await c.store.read(`gs://${c.bucket}/runs/${runId}/train/a1/training.json`)).toString(),
      ) as { worldSize?: number };
      expect(training.worldSize).toBe(2);

      // The model is a version in the Vertex registry stand-in, holding the champion alias.
      const registry = new VertexModelRegistry({
        projectId: c.projectId,
        region: stack!.env.GOOGLE_CLOUD_REGION ?? "us-central1",
        endpoint: stack!.endpoints.vertex!,
        modelId: "sentiment-classifier",
        servingImageUri: "unused",
      });
      const champion = await registry.getChampion(state.modelLine!);
      await registry.close();
      expect(champion).toMatchObject({ runId, aliases: expect.arrayContaining(["champion"]) as unknown });
      expect(champion!.artifactUri).toBe(state.artifacts.training?.modelDir);

      // Tuning ran as the stand-in's HyperparameterTuningJob (search.parallelTrials 2 in pipeline-config.json): both
      // trials ran as their own processes, at once, and the tune step's event names the better one.
      const hpt = new v1.JobServiceClient(
        vertexClientOptions({
          projectId: c.projectId,
          region: stack!.env.GOOGLE_CLOUD_REGION ?? "us-central1",
          endpoint: stack!.endpoints.vertex!,
        }),
      );
      const [tunings] = await hpt.listHyperparameterTuningJobs({
        parent: `projects/${c.projectId}/locations/${stack!.env.GOOGLE_CLOUD_REGION ?? "us-central1"}`,
        filter: `display_name="${tuningJobName(runId, 1)}"`,
      });
      await hpt.close();
      expect(tunings).toHaveLength(1);
      expect(tunings[0]).toMatchObject({
        state: "JOB_STATE_SUCCEEDED",
        parallelTrialCount: 2,
        maxTrialCount: 2,
      });
      expect(tunings[0]!.trials!.map((t) => t.state)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
      const best = Math.max(
        ...tunings[0]!.trials!.map((t) => Number(t.finalMeasurement?.metrics?.[0]?.value)),
      );
      expect(state.artifacts.tuning?.bestValue).toBeCloseTo(best, 10);

      // The chain's events, in the order the steps ran.
      await eventually(
        () => events.some((e) => e.runId === runId && e.type === "run.completed"),
        10_000,
        "run.completed",
      );
      const chain = events.filter((e) => e.runId === runId && e.type !== "job.progress").map((e) => e.type);
      expect(chain).toEqual([
        "run.started",
        "data.prepared",
        "tuning.completed",
        "training.completed",
        "evaluation.completed",
        "model.registered",
        "run.completed",
      ]);
    } finally {
      await c.close();
    }
  });
});
