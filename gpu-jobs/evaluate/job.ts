// The evaluate job (placeholder until the evaluation issue lands).
import { NonRetryableJobError, type JobContext } from "../common/job-runtime.ts";

export function evaluateJob(_ctx: JobContext<"evaluate">): Promise<void> {
  return Promise.reject(new NonRetryableJobError("the evaluate job is not built yet"));
}
