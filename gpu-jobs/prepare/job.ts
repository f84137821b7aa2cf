// The prepare job (placeholder until the data-preparation issue lands).
import { NonRetryableJobError, type JobContext } from "../common/job-runtime.ts";

export function prepareJob(_ctx: JobContext<"prepare">): Promise<void> {
  return Promise.reject(new NonRetryableJobError("the prepare job is not built yet"));
}
