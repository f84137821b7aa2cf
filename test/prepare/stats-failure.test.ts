// A failure of the scaling statistics depends only on the file's rows, so it is an unusable input (the job fails the
// run at once) and never an error that looks transient and gets the job retried with every good row lost again.
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { UnusableInputError } from "../../gpu-jobs/prepare/input-format.ts";
import type * as Features from "../../gpu-jobs/prepare/features.ts";
import { jsonl, prepareFile, reviews } from "./helpers.ts";

vi.mock("../../gpu-jobs/prepare/features.ts", async (original) => ({
  ...(await original<typeof Features>()),
  // What FeatureStats.parse threw on an Infinity standard deviation before implausible values were refused.
  computeFeatureStats: () => z.object({ priceStd: z.number() }).parse({ priceStd: Infinity }),
}));

describe("a statistics failure", () => {
  it("is reported as an unusable input naming what could not be computed", async () => {
    const run = prepareFile({ name: "f.jsonl", content: jsonl(reviews(20)) });
    await expect(run).rejects.toBeInstanceOf(UnusableInputError);
    await expect(run).rejects.toThrow(/cannot compute the side features' scaling statistics .*priceStd/);
  });
});
