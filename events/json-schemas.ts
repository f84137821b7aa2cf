// The schemas the Python trainer validates against, as JSON Schema generated from the zod sources.
import { z } from "zod";
import { PipelineConfig } from "../schemas/config.ts";
import { HyperParams } from "../schemas/hyperparams.ts";
import { PrepareJobInput, TuneJobInput, TrainJobInput, EvaluateJobInput } from "../schemas/job-input.ts";
import { MetricsReport, SliceReport } from "../schemas/metrics.ts";
import { MitigationPlan } from "../schemas/mitigation.ts";
import { ModelMetadata } from "../schemas/model.ts";
import { PreparedReview, PreparedStats, RejectedRow } from "../schemas/review.ts";
import { EVENT_SCHEMAS } from "./catalogue.ts";

const SCHEMAS: Record<string, z.ZodType> = {
  "pipeline-config": PipelineConfig,
  "hyper-params": HyperParams,
  "mitigation-plan": MitigationPlan,
  "prepare-job-input": PrepareJobInput,
  "tune-job-input": TuneJobInput,
  "train-job-input": TrainJobInput,
  "evaluate-job-input": EvaluateJobInput,
  "prepared-review": PreparedReview,
  "prepared-stats": PreparedStats,
  "rejected-row": RejectedRow,
  "model-metadata": ModelMetadata,
  "metrics-report": MetricsReport,
  "slice-report": SliceReport,
  ...Object.fromEntries(Object.entries(EVENT_SCHEMAS).map(([type, schema]) => [`event.${type}`, schema])),
};

/** File name -> JSON text, exactly as written to schemas/json/. */
export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, schema] of Object.entries(SCHEMAS).sort(([a], [b]) => a.localeCompare(b))) {
    const json = z.toJSONSchema(schema, { target: "draft-2020-12", unrepresentable: "any" });
    out.set(
      `${name}.schema.json`,
      `${JSON.stringify({ ...json, $id: `${name}.schema.json`, title: name }, null, 2)}\n`,
    );
  }
  return out;
}
