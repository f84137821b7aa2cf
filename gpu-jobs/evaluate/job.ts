// The evaluate job: the job runtime's context wired to the evaluation core, with the registry of this deployment.
import type { PipelineConfig } from "../../schemas/config.ts";
import type { ModelRegistry } from "../../platform/ports/model-registry.ts";
import { createModelRegistry } from "../../platform/composition-root.ts";
import { NonRetryableJobError, type JobContext } from "../common/job-runtime.ts";
import type { ProviderChoice } from "../inference/index.ts";
import { runEvaluation } from "./run-evaluation.ts";

export interface EvaluateJobDeps {
  registry?: (config: PipelineConfig) => ModelRegistry | null;
  env?: NodeJS.ProcessEnv;
}

/**
 * `SP_EVAL_PROVIDER` (auto | cpu | cuda) and `SP_EVAL_THREADS` override the execution provider and CPU threads; by
 * default CUDA is used when onnxruntime's CUDA provider is installed and starts, else every core the job may use.
 */
export function makeEvaluateJob(deps: EvaluateJobDeps = {}): (ctx: JobContext<"evaluate">) => Promise<void> {
  return async (ctx) => {
    const env = deps.env ?? process.env;
    const registry = (deps.registry ?? createModelRegistry)(ctx.config);
    await runEvaluation(ctx.input, {
      store: ctx.store,
      registry,
      log: ctx.log,
      emit: (type, data) => ctx.emit(type, data),
      progress: (unit, current, total, message) => ctx.progress(unit, current, total, message),
      session: sessionSettings(env),
    });
  };
}

export const evaluateJob = makeEvaluateJob();

function sessionSettings(env: NodeJS.ProcessEnv): { provider?: ProviderChoice; threads?: number } {
  const out: { provider?: ProviderChoice; threads?: number } = {};
  const provider = env.SP_EVAL_PROVIDER;
  if (provider !== undefined && provider !== "") {
    if (provider !== "auto" && provider !== "cpu" && provider !== "cuda") {
      throw new NonRetryableJobError(
        `SP_EVAL_PROVIDER must be auto, cpu or cuda, got ${JSON.stringify(provider)}`,
      );
    }
    out.provider = provider;
  }
  const threads = env.SP_EVAL_THREADS;
  if (threads !== undefined && threads !== "") {
    const n = Number(threads);
    if (!Number.isInteger(n) || n < 1)
      throw new NonRetryableJobError(
        `SP_EVAL_THREADS must be a positive integer, got ${JSON.stringify(threads)}`,
      );
    out.threads = n;
  }
  return out;
}
