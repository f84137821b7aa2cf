// The environment every job process gets from its launcher, beside the config variables of load-config.ts.
import { z } from "zod";

export const JobEnv = z.object({
  /** Embedded mode: events go to this JSON-lines file and the local launcher forwards them to the bus. */
  SP_OUTBOX: z.string().min(1).optional(),
  /** Pub/Sub mode: event type -> full topic name (projects/P/topics/T), as JSON. */
  SP_TOPICS: z.string().min(2).optional(),
  /** Vertex sets these; the trainer writes the model and checkpoints there when present. */
  AIP_MODEL_DIR: z.string().optional(),
  AIP_CHECKPOINT_DIR: z.string().optional(),
  CLOUD_ML_JOB_ID: z.string().optional(),
});
export type JobEnv = z.infer<typeof JobEnv>;
