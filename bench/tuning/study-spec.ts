// The search-quality benchmark's TypeScript half: the config's search space as the tune job and Vertex see it, and
// the Vertex stand-in's own suggestions (seeded random search), printed as one JSON document for search_quality.py.
import { parseArgs } from "node:util";
import { PipelineConfig } from "../../schemas/config.ts";
import { TuneJobInput } from "../../schemas/job-input.ts";
import { runDir } from "../../schemas/names.ts";
import { inputToArgs } from "../../gpu-jobs/specs/job-args.ts";
import { studySpecOf } from "../../gpu-jobs/tune/tuning-job.ts";
import { seeded, suggest, type ParameterSpecInput } from "../../emulator/vertex/study-search.ts";

/** The bench's bucket: the trial worker lays it out as a local folder (embedded mode). */
export const BENCH_BUCKET = "sp-bench";

export interface StudySpecRequest {
  scenarios: string[];
  seeds: number[];
  trials: number;
  model: string;
}

/** The tune job's input for one scenario, exactly as the pipeline renders it from the default config. */
export function tuneInputFor(config: PipelineConfig, scenario: string): TuneJobInput {
  const runId = `bench-${scenario}`;
  const dir = runDir(BENCH_BUCKET, runId);
  const t = config.training;
  return TuneJobInput.parse({
    runId,
    attempt: 1,
    correlationId: `bench-${scenario}`,
    runDir: dir,
    outDir: `${dir}/tune/a1`,
    step: "tune",
    dataDir: `${dir}/prepare/a1`,
    models: { ...t.models },
    maxLength: t.maxLength,
    seed: t.seed,
    useSideFeatures: t.useSideFeatures,
    earlyStoppingPatience: t.earlyStoppingPatience,
    warmupRatio: t.warmupRatio,
    maxGradNorm: t.maxGradNorm,
    search: structuredClone(config.search),
  });
}

/** What search_quality.py needs: the study spec Vertex is sent, each scenario's trial arguments, the stand-in's picks. */
export function studySpecDocument(req: StudySpecRequest) {
  const config = PipelineConfig.parse({
    training: { models: { bert: req.model, roberta: req.model } },
    search: { trials: req.trials },
  });
  const studySpec = studySpecOf(config.search, config.training.models);
  const specs = (studySpec.parameters ?? []) as ParameterSpecInput[];
  const standIn: Record<string, Record<string, string | number>[]> = {};
  for (const seed of req.seeds) {
    // The stand-in seeds each tuning job's generator once and draws trial after trial from it (tuning-service.ts).
    const random = seeded(seed);
    standIn[String(seed)] = Array.from({ length: req.trials }, (_, i) =>
      Object.fromEntries(
        suggest(specs, String(studySpec.algorithm ?? ""), i, random).map((p) => [
          p.parameterId,
          "stringValue" in p.value ? p.value.stringValue : p.value.numberValue,
        ]),
      ),
    );
  }
  return {
    search: config.search,
    models: config.training.models,
    studySpec,
    tuneArgs: Object.fromEntries(req.scenarios.map((s) => [s, inputToArgs(tuneInputFor(config, s))])),
    standIn,
  };
}

function list(raw: string, what: string): string[] {
  const items = raw.split(",").map((s) => s.trim());
  if (items.some((s) => !/^[a-z0-9-]{1,40}$/.test(s)))
    throw new Error(`--${what}: expected a comma list, got ${raw}`);
  return items;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      scenarios: { type: "string", default: "clean,lowf1,biased" },
      seeds: { type: "string", default: "1,2,3" },
      trials: { type: "string", default: "12" },
      model: { type: "string", default: "tiny" },
    },
  });
  const seeds = list(values.seeds, "seeds").map(Number);
  const trials = Number(values.trials);
  if (!seeds.every(Number.isSafeInteger)) throw new Error(`--seeds: expected integers, got ${values.seeds}`);
  if (!Number.isSafeInteger(trials) || trials < 1) throw new Error(`--trials: expected a positive integer`);
  const doc = studySpecDocument({
    scenarios: list(values.scenarios, "scenarios"),
    seeds,
    trials,
    model: values.model,
  });
  process.stdout.write(JSON.stringify(doc) + "\n");
}
