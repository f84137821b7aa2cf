// A job as a launcher sees it: image, arguments, environment and machine, named by run, step and attempt.
import { z } from "zod";
import { JobStep, RunId } from "./names.ts";
import { MachineSpec } from "./machine.ts";

export const ImageKey = z.enum(["trainer", "jobs"]);
export type ImageKey = z.infer<typeof ImageKey>;

export const JobSpec = z.object({
  jobName: z.string().regex(/^sp-[a-z0-9-]+-(prepare|tune|train|evaluate)-a\d+$/),
  runId: RunId,
  step: JobStep,
  attempt: z.number().int().positive(),
  /** Which image runs it: the Python trainer, or the Node jobs image (prepare, evaluate). */
  image: ImageKey,
  imageUri: z.string().min(1),
  /** Arguments after the image's entrypoint: the subcommand, then one flag per input field. */
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  machine: MachineSpec,
  /** Vertex's baseOutputDirectory: AIP_MODEL_DIR and AIP_CHECKPOINT_DIR live under it. */
  outputDir: z.string().min(1),
});
export type JobSpec = z.infer<typeof JobSpec>;
