// The tune step with parallel trials: submits the attempt's Vertex AI HyperparameterTuningJob, waits, reads its trials.
import { z } from "zod";
import { v1, type protos } from "@google-cloud/aiplatform";
import { MachineSpec } from "../../schemas/machine.ts";
import { jobName as makeJobName } from "../../schemas/names.ts";
import { customJobOf, JOB_ACCOUNT_ENV } from "../../platform/gcp/vertex-job-launcher.ts";
import {
  grpcCode,
  locationName,
  vertexClientOptions,
  vertexLocationOf,
} from "../../platform/gcp/vertex-client-options.ts";
import { NonRetryableJobError, type JobContext } from "../common/job-runtime.ts";
import {
  distinctFamilies,
  summariseTrials,
  trialArgs,
  tuningJobOf,
  type TuningSummary,
} from "./tuning-job.ts";
import { inputToArgs } from "../specs/job-args.ts";
import { TUNING_TRIAL_ENV } from "../specs/build-job-spec.ts";

type HptJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
type Client = InstanceType<typeof v1.JobServiceClient>;

/** What a trial runs on, set by the job spec builder (build-job-spec.ts): the trainer image, machines.tune, its env. */
export const TRIAL_ENV = TUNING_TRIAL_ENV;
export const TrialSetup = z.object({
  imageUri: z.string().min(1),
  machine: MachineSpec,
  env: z.record(z.string(), z.string()),
  serviceAccount: z.string().optional(),
});
export type TrialSetup = z.infer<typeof TrialSetup>;

const ENDED = new Set([
  "JOB_STATE_SUCCEEDED",
  "JOB_STATE_FAILED",
  "JOB_STATE_CANCELLED",
  "JOB_STATE_EXPIRED",
]);
const FAILED_PRECONDITION = 9;

export interface TuneJobDeps {
  client?: Client;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds between looks at the tuning job. */
  pollMs?: number;
}

/** The tuning job's display name: the attempt's job name would be read as the tune job itself by watch-jobs. */
export function tuningJobName(runId: string, attempt: number): string {
  return `${makeJobName(runId, "tune", attempt)}-trials`;
}

export function makeTuneJob(deps: TuneJobDeps = {}) {
  return async (ctx: JobContext<"tune">): Promise<void> => {
    const env = deps.env ?? process.env;
    const parsed = TrialSetup.safeParse(JSON.parse(env[TRIAL_ENV] ?? "null"));
    if (!parsed.success)
      throw new NonRetryableJobError(
        `${TRIAL_ENV} must describe the trials' image, machine and env: ${parsed.error.message}`,
      );
    const setup = parsed.data;
    const { input, log } = ctx;
    const location = vertexLocationOf(ctx.config);
    const client = deps.client ?? new v1.JobServiceClient(vertexClientOptions(location));
    const parent = locationName(location);
    const displayName = tuningJobName(input.runId, input.attempt);
    let name = await findByName(client, parent, displayName);
    if (name) log.info(`resuming the wait for tuning job ${name}`);
    else {
      const trial = customJobOf(
        {
          jobName: displayName,
          runId: input.runId,
          step: "tune",
          attempt: input.attempt,
          image: "trainer",
          imageUri: setup.imageUri,
          args: trialArgs(inputToArgs(input)),
          env: setup.env,
          machine: setup.machine,
          outputDir: input.outDir,
        },
        // The trials run as this job's own account (deploy grants it actAs on itself), else as Vertex's agent.
        setup.serviceAccount ?? env[JOB_ACCOUNT_ENV],
      );
      const labels = { ...(trial.labels ?? {}) };
      const [job] = await client.createHyperparameterTuningJob({
        parent,
        hyperparameterTuningJob: tuningJobOf(input, displayName, trial.jobSpec!, labels),
      });
      name = job.name!;
      log.info(`tuning job ${name} created`, {
        maxTrialCount: input.search.trials,
        parallelTrialCount: Math.min(input.search.parallelTrials, input.search.trials),
      });
    }
    // Stopping this job (a cancelled run, a timeout) stops the trials too: they are this attempt's work.
    const stop = (): void => {
      void client.cancelHyperparameterTuningJob({ name }).catch((err: unknown) => {
        if (grpcCode(err) !== FAILED_PRECONDITION)
          log.warn(`could not cancel ${name}: ${(err as Error).message}`);
      });
    };
    process.once("SIGTERM", stop);
    let job: HptJob;
    let reported = -1;
    try {
      for (;;) {
        [job] = await client.getHyperparameterTuningJob({ name });
        const ended = (job.trials ?? []).filter(
          (t) => t.state === "SUCCEEDED" || t.state === "INFEASIBLE",
        ).length;
        if (ended !== reported) {
          reported = ended;
          await ctx.progress(
            "trial",
            ended,
            input.search.trials,
            `${ended} of ${input.search.trials} trial(s) ended`,
          );
        }
        if (ENDED.has(String(job.state))) break;
        await new Promise((r) =>
          setTimeout(r, deps.pollMs ?? (ctx.config.runtime.mode === "gcp" ? 30_000 : 1000)),
        );
      }
    } finally {
      process.removeListener("SIGTERM", stop);
    }
    if (job.state !== "JOB_STATE_SUCCEEDED")
      throw new Error(
        `tuning job ${name} ended ${String(job.state)}: ${job.error?.message ?? "no error given"}`,
      );
    const stopped = await stoppedTrials(ctx, job);
    const summary = summariseTrials(job.trials ?? [], stopped);
    await finish(ctx, job, summary);
  };
}

async function findByName(client: Client, parent: string, displayName: string): Promise<string | null> {
  const [jobs] = await client.listHyperparameterTuningJobs(
    { parent, filter: `display_name="${displayName}"` },
    { autoPaginate: true },
  );
  const mine = jobs.filter((j) => j.displayName === displayName && j.name);
  mine.sort((a, b) => Number(a.createTime?.seconds ?? 0) - Number(b.createTime?.seconds ?? 0));
  return mine[0]?.name ?? null;
}

const TrialSummary = z.object({
  stopped: z.boolean(),
  checkpoint: z.string().nullish(),
  validation: z.unknown().optional(),
});

async function trialSummary(
  ctx: JobContext<"tune">,
  id: string,
): Promise<z.infer<typeof TrialSummary> | null> {
  const uri = `${ctx.input.outDir}/trials/${id}/trial.json`;
  if (!(await ctx.store.stat(uri))) return null;
  const parsed = TrialSummary.safeParse(JSON.parse((await ctx.store.read(uri)).toString("utf8")));
  if (!parsed.success) {
    ctx.log.warn(`ignoring ${uri}: ${parsed.error.message}`);
    return null;
  }
  return parsed.data;
}

/** Trials stopped early say so in their summaries (trial.py): Vertex shows them SUCCEEDED like the others. */
async function stoppedTrials(ctx: JobContext<"tune">, job: HptJob): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of job.trials ?? [])
    if ((await trialSummary(ctx, String(t.id)))?.stopped) out.add(String(t.id));
  return out;
}

const CSV_HEADER = [
  "trial",
  "state",
  "value",
  "model_family",
  "learning_rate",
  "batch_size",
  "epochs",
  "weight_decay",
  "dropout",
];

/** The run folder's record (study.json, trials.csv and tuning.json, as the Optuna study leaves), then tuning.completed. */
async function finish(ctx: JobContext<"tune">, job: HptJob, s: TuningSummary): Promise<void> {
  const { input } = ctx;
  const out = input.outDir;
  const studyUri = `${out}/study.json`;
  await ctx.store.write(studyUri, JSON.stringify(job, null, 2) + "\n");
  const rows = s.outcomes.map((o) =>
    [
      o.id,
      o.stopped ? "PRUNED" : o.state === "SUCCEEDED" ? "COMPLETE" : "FAIL",
      o.value ?? "",
      o.params?.modelFamily ?? "",
      o.params?.learningRate ?? "",
      o.params?.batchSize ?? "",
      o.params?.epochs ?? "",
      o.params?.weightDecay ?? "",
      o.params?.dropout ?? "",
    ].join(","),
  );
  await ctx.store.write(`${out}/trials.csv`, [CSV_HEADER.join(","), ...rows].join("\n") + "\n");
  const best = await trialSummary(ctx, s.best.id);
  const data = {
    outDir: out,
    studyUri,
    trials: s.trials,
    completedTrials: s.completedTrials,
    prunedTrials: s.prunedTrials,
    bestParams: s.best.params,
    bestValue: s.best.value,
    baseModel: input.models[s.best.params.modelFamily] ?? s.best.params.modelFamily,
  };
  const summary = {
    ...data,
    studyTrials: s.trials,
    bestTrial: s.best.id,
    bestValidation: best?.validation ?? null,
    // train.py resumes this checkpoint when it is given the same work, as it does the Optuna study's best trial.
    bestCheckpoint: best?.checkpoint ?? null,
    failedTrials: s.failedTrials,
    tuningJob: job.name,
    backend: "vertex",
    // The model each searched family names, for the report (as tune.py's tuning.json has it).
    models: Object.fromEntries(
      distinctFamilies(input.search, input.models).map((f) => [
        f,
        (input.models as Record<string, string>)[f] ?? f,
      ]),
    ),
  };
  await ctx.store.write(`${out}/tuning.json`, JSON.stringify(summary, null, 2) + "\n");
  ctx.log.info("tuning finished", {
    bestValue: data.bestValue,
    bestParams: data.bestParams,
    trials: data.trials,
  });
  await ctx.emit("tuning.completed", data);
}
