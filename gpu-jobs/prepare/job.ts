// The prepare job: prepares the run's upload into its attempt folder, then publishes data.prepared; unusable
// data fails the run at once (non-retryable) after the rejected rows and stats are written.
import { NonRetryableJobError, type JobContext } from "../common/job-runtime.ts";
import { NotFoundError } from "../../platform/ports/object-store.ts";
import { makeDataIo } from "./data-io.ts";
import { UnusableInputError } from "./input-format.ts";
import { prepareData } from "./prepare-data.ts";

export async function prepareJob(ctx: JobContext<"prepare">): Promise<void> {
  const { input, store, log } = ctx;
  let result;
  try {
    result = await prepareData({
      input: input.input,
      outDir: input.outDir,
      sliceColumns: input.sliceColumns,
      data: input.data,
      io: makeDataIo(store),
      log,
      progress: (rows, total, message) => ctx.progress("rows", rows, total, message),
    });
  } catch (err) {
    if (err instanceof UnusableInputError) throw new NonRetryableJobError(`unusable input: ${err.message}`);
    // The upload is gone (or never was): retrying cannot bring it back.
    if (err instanceof NotFoundError || (err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new NonRetryableJobError(`input not found: ${input.input}`);
    }
    throw err;
  }
  const { stats, locations, failure } = result;
  if (failure) throw new NonRetryableJobError(`unusable input ${input.input}: ${failure}`);
  await ctx.emit("data.prepared", {
    dataDir: input.outDir,
    splits: {
      train: { uri: locations.train, rows: stats.splits.train.rows },
      validation: { uri: locations.validation, rows: stats.splits.validation.rows },
      test: { uri: locations.test, rows: stats.splits.test.rows },
    },
    statsUri: locations.stats,
    rejectedUri: locations.rejected,
    rowsRead: stats.rowsRead,
    rowsKept: stats.rowsKept,
    rowsRejected: stats.rowsRejected,
    fingerprint: stats.fingerprint,
  });
}
