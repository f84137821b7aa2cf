// Against a real MLflow server: the REST adapter, and what a whole `npm run demo` leaves in MLflow.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsReport, SliceReport } from "../../schemas/metrics.ts";
import { RunState } from "../../schemas/run-state.ts";
import { MlflowRestTracker } from "../../tracking/mlflow-rest-tracker.ts";
import { TrackingError, type TrackedRun } from "../../tracking/experiment-tracker.ts";
import { sliceMetricKey } from "../../schemas/mlflow-names.ts";
import { ensurePipelineRun, findPipelineRun } from "../../tracking/pipeline-run.ts";
import { startLocalMlflow, type LocalMlflowServer } from "../../tracking/local-mlflow-server.ts";
import { readRunEvents } from "../../functions/run-event-log.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { REPO_ROOT, trainerPython } from "../inference/python-env.ts";

const python = trainerPython();
if (python.skip) console.warn(`MLflow tests skipped: ${python.skip}`);

interface DemoResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run demo` as a user would (it starts and stops its own MLflow server), small enough for a test. */
function runDemo(root: string): Promise<DemoResult> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_ROOT: root, SP_TRAINER_PYTHON: python.path ?? "" };
    delete env.MLFLOW_TRACKING_URI;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "emulator/demo.ts", "--rows", "400", "--trials", "2", "--json"],
      { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(python.skip !== null)("MLflow", () => {
  const root = mkdtempSync(join(tmpdir(), "sp-mlflow-"));
  let demo: DemoResult;
  let server: LocalMlflowServer;
  let tracker: MlflowRestTracker;

  beforeAll(async () => {
    demo = await runDemo(root);
    // The demo stopped its server; the same store served again, as `sentiment-pipeline mlflow` does.
    server = await startLocalMlflow({ dir: join(root, "mlflow"), python: python.path! });
    tracker = new MlflowRestTracker({ uri: server.uri });
  }, 15 * 60_000);

  afterAll(async () => {
    await server?.stop();
  }, 30_000);

  describe("REST adapter", () => {
    it("finds or creates an experiment, also when several callers race to create it", async () => {
      const ids = await Promise.all(
        [1, 2, 3].map(() => tracker.ensureExperiment("adapter/race", { a: "1" })),
      );
      expect(new Set(ids.map((e) => e.experimentId)).size).toBe(1);
      expect((await tracker.getExperimentByName("adapter/race"))?.tags).toMatchObject({ a: "1" });
      expect(await tracker.getExperimentByName("adapter/none")).toBeNull();
    });

    it("logs more params, metrics and tags than one request may carry, and reads them back by tag", async () => {
      const { experimentId } = await tracker.ensureExperiment("adapter/batches");
      const run = await tracker.createRun(
        experimentId,
        "big",
        { step: "evaluate", attempt: "1" },
        Date.now(),
      );
      const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, `v${i}`]));
      const tags = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`t${i}`, `it's "quoted" ${i}`]));
      const metrics = Array.from({ length: 1200 }, (_, i) => ({
        key: `m/${i}`,
        value: i / 7,
        timestamp: 1,
        step: 0,
      }));
      await tracker.logRunData(run.runId, { params, tags, metrics });
      await tracker.createRun(experimentId, "other", { step: "evaluate", attempt: "2" }, Date.now());
      const [found, ...rest] = await tracker.findRuns(experimentId, { attempt: "1", t7: `it's "quoted" 7` });
      expect(rest).toEqual([]);
      expect(Object.keys(found!.params)).toHaveLength(150);
      expect(Object.keys(found!.metrics)).toHaveLength(1200);
      expect(found!.metrics["m/700"]).toBeCloseTo(100, 12);
      expect(found!.tags.t119).toBe(`it's "quoted" 119`);
    });

    it("stores an artifact with a run and ends the run", async () => {
      const { experimentId } = await tracker.ensureExperiment("adapter/artifacts");
      const run: TrackedRun = await tracker.createRun(experimentId, "a", {}, Date.now());
      await tracker.uploadArtifact(run, "reports/report.html", "<p>hello</p>", "text/html");
      const path = run.artifactUri.replace("mlflow-artifacts:/", "");
      const res = await fetch(`${server.uri}/api/2.0/mlflow-artifacts/artifacts/${path}/reports/report.html`);
      expect(await res.text()).toBe("<p>hello</p>");
      await tracker.endRun(run.runId, "FINISHED", Date.now());
      expect((await tracker.findRuns(experimentId))[0]!.status).toBe("FINISHED");
    });

    it("shares one parent run between the writers of one process that ask for it at once", async () => {
      const experiment = await tracker.ensureExperiment("adapter/parents");
      const parents = await Promise.all(
        [1, 2, 3].map((i) => ensurePipelineRun(tracker, experiment, "run-race", 1_000 + i)),
      );
      const kept = await tracker.findRuns(experiment.experimentId, { run_id: "run-race", step: "pipeline" });
      expect(kept).toHaveLength(1);
      expect(new Set(parents.map((p) => p.runId))).toEqual(new Set([kept[0]!.runId]));
      expect((await findPipelineRun(tracker, experiment.experimentId, "run-race"))?.runId).toBe(
        kept[0]!.runId,
      );
    });

    it("deletes the younger duplicate when writers in two processes both create the parent run", async () => {
      const experiment = await tracker.ensureExperiment("adapter/parents-across");
      // Two trackers stand for two processes. Each one's first lookup and its create return only once both writers'
      // have, so both find no parent, both create one, and both see both when they look again.
      const barrier = (): { arrive: () => Promise<void>; count: () => number } => {
        let n = 0;
        let open = (): void => undefined;
        const opened = new Promise<void>((r) => (open = r));
        return { arrive: () => (++n === 2 && open(), opened), count: () => n };
      };
      const looked = barrier();
      const created = barrier();
      const writer = (): MlflowRestTracker => {
        const t = new MlflowRestTracker({ uri: server.uri });
        const [find, create] = [t.findRuns.bind(t), t.createRun.bind(t)];
        let first = true;
        t.findRuns = async (...args) => {
          const runs = await find(...args);
          if (first) await looked.arrive();
          first = false;
          return runs;
        };
        t.createRun = async (...args) => {
          const run = await create(...args);
          await created.arrive();
          return run;
        };
        return t;
      };
      const parents = await Promise.all(
        [1, 2].map((i) => ensurePipelineRun(writer(), experiment, "run-across", 1_000 + i)),
      );
      expect(created.count()).toBe(2);
      const kept = await tracker.findRuns(experiment.experimentId, {
        run_id: "run-across",
        step: "pipeline",
      });
      expect(kept.map((r) => r.startTime)).toEqual([1_001]);
      expect(parents.map((p) => p.runId)).toEqual([kept[0]!.runId, kept[0]!.runId]);
    });

    it("passes MLflow's own refusal on, with its error code", async () => {
      const { experimentId } = await tracker.ensureExperiment("adapter/errors");
      const run = await tracker.createRun(experimentId, "e", {}, Date.now());
      await tracker.logRunData(run.runId, { params: { lr: "0.1" } });
      const refused = tracker.logRunData(run.runId, { params: { lr: "0.2" } });
      await expect(refused).rejects.toBeInstanceOf(TrackingError);
      await expect(refused).rejects.toThrow(/INVALID_PARAMETER_VALUE/);
    });
  });

  describe("a demo run", () => {
    it("ends by saying where the report and the MLflow UI are", () => {
      expect(demo.code, demo.stderr.slice(-3000)).toBe(0);
      const lines = demo.stderr.trimEnd().split("\n");
      expect(lines.at(-2)).toMatch(/^report: {5}\/.*\/report\.html$/);
      expect(lines.at(-1)).toMatch(
        /^MLflow UI: {2}http:\/\/127\.0\.0\.1:\d+\/#\/experiments\/\d+\/runs\/\w+ /,
      );
    });

    it("leaves the line's experiment with a parent run and, nested under it, trials, trainings and evaluations", async () => {
      const state = RunState.parse(JSON.parse(demo.stdout.trim().split("\n").at(-1)!));
      // The link the demo printed opens the pipeline run's parent run.
      const [, experimentId, parentId] = /#\/experiments\/(\d+)\/runs\/(\w+)/.exec(demo.stderr)!;
      const runs = await tracker.findRuns(experimentId!, { run_id: state.runId });
      const parent = runs.find((r) => r.runId === parentId)!;
      expect(parent.tags).toMatchObject({ step: "pipeline", outcome: state.outcome! });
      expect(parent.status).toBe(state.outcome === "failed" ? "FAILED" : "FINISHED");
      const children = runs.filter((r) => r !== parent);
      for (const c of children) expect(c.tags["mlflow.parentRunId"], c.name).toBe(parentId);
      // One naming scheme: snake_case params and metrics, val_* on the trainer's runs and test_* on evaluations.
      for (const c of children) {
        for (const k of Object.keys(c.params)) expect(k, `${c.name} param`).toMatch(/^[a-z0-9_]+$/);
        for (const k of Object.keys(c.metrics)) expect(k, `${c.name} metric`).toMatch(/^[a-z0-9_]+$/);
      }

      const trials = runs.filter((r) => r.tags.step === "tune");
      expect(trials.length).toBeGreaterThanOrEqual(2);
      for (const t of trials) {
        expect(Object.keys(t.params)).toEqual(
          expect.arrayContaining(["learning_rate", "batch_size", "model_family"]),
        );
        expect(t.metrics.val_weighted_f1).toBeGreaterThanOrEqual(0);
        expect(t.metrics.weightedF1).toBeUndefined();
      }
      const trainings = runs.filter((r) => r.tags.step === "train");
      expect(trainings.map((r) => r.tags.attempt).sort()).toEqual(
        Array.from({ length: state.steps.train.attempt }, (_, i) => String(i + 1)),
      );
      for (const t of trainings) {
        expect(t.name).toBe(`training-a${t.tags.attempt}`);
        expect(t.metrics.val_weighted_f1).toBeGreaterThan(0);
      }

      const store = new LocalObjectStore(state.source.bucket, join(root, "bucket"));
      const evaluations = runs.filter((r) => r.tags.step === "evaluate");
      expect(evaluations).toHaveLength(state.steps.evaluate.attempt);
      for (const e of evaluations) {
        const dir = `gs://${state.source.bucket}/runs/${state.runId}/evaluate/a${e.tags.attempt}`;
        const metrics = MetricsReport.parse(JSON.parse((await store.read(`${dir}/metrics.json`)).toString()));
        const slices = SliceReport.parse(JSON.parse((await store.read(`${dir}/slices.json`)).toString()));
        expect(e.status).toBe("FINISHED");
        expect(e.metrics.test_weighted_f1).toBeCloseTo(metrics.metrics.weightedF1, 12);
        for (const k of Object.keys(e.metrics)) expect(k, "evaluation metric").toMatch(/^test_/);
        expect(e.metrics.test_f1_neutral).toBeCloseTo(metrics.metrics.perClass.NEUTRAL.f1, 12);
        for (const s of slices.slices)
          expect(e.metrics[sliceMetricKey(s.column, s.value, "f1")], `${s.column}=${s.value}`).toBeCloseTo(
            s.f1,
            12,
          );
        expect(e.metrics.test_biased_slices).toBe(slices.slices.filter((s) => s.biased).length);
        expect(e.tags["bias.verdict"]).toBe(slices.slices.some((s) => s.biased) ? "biased" : "not biased");
        expect(e.params.rules_f1_min).toBe("0.6");
        // The export serving loads by default, as the evaluation ran it.
        expect(metrics.modelFile).toBe("model.int8.onnx");
        expect(e.params.model_file).toBe(metrics.modelFile);
        expect(e.tags.decision).toBeTruthy();
      }

      // Every retrigger decision is a tag of the parent run, with its reason.
      const events = (await readRunEvents(store, state.runId)).events;
      const retriggers = events.filter((e) => e.type === "run.retriggered");
      const tagged = Object.keys(parent.tags).filter((k) => k.startsWith("retrigger."));
      expect(tagged).toHaveLength(retriggers.length);
      for (const r of retriggers)
        if (r.type === "run.retriggered")
          expect(Object.values(parent.tags)).toContain(`${r.data.reason}: ${r.data.detail}`);
      expect(readFileSync(join(root, "bucket", "runs", state.runId, "report.html"), "utf8")).toContain(
        state.runId,
      );
    });
  });
});
