// Helpers of the serving tests: run folders holding copies of the tiny golden model, and the golden examples whose
// side features a request can express as raw values.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { golden, TINY_MODEL } from "../inference/model-fixture.ts";
import { softmax } from "../../gpu-jobs/inference/index.ts";

export { TINY_MODEL };

export function scratchDir(prefix = "sp-serving-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Copies the tiny model to `dir`, its metadata saying it was trained by `runId` attempt `attempt`. */
export function placeModel(dir: string, runId: string, attempt: number): string {
  mkdirSync(dir, { recursive: true });
  cpSync(TINY_MODEL, dir, { recursive: true });
  const path = join(dir, "metadata.json");
  const metadata = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...metadata, runId, trainAttempt: attempt }));
  return dir;
}

/** A run folder `<root>/runs/<runId>` whose train attempts hold models (attempt numbers given). */
export function runFolder(root: string, runId: string, attempts: number[]): string {
  const run = join(root, "runs", runId);
  for (const a of attempts) placeModel(join(run, "train", `a${a}`, "model"), runId, a);
  mkdirSync(join(run, "prepare", "a1"), { recursive: true });
  return run;
}

const TINY_STATS = { priceMean: 27.5, priceStd: 14, helpfulMean: 0.4, helpfulStd: 0.8 };

export interface GoldenRequest {
  instance: { title: string; text: string; price: number; helpful_vote: number; verified_purchase: boolean };
  /** Softmax of the golden logits, fp32 and int8. */
  scores: number[];
  scoresInt8: number[];
}

/**
 * Golden examples whose scaled features come from a known price (not the fill value), as raw request values:
 * price = mean + z * std, helpful votes = expm1(mean + z * std).
 */
export function goldenRequests(): GoldenRequest[] {
  return golden()
    .examples.filter((e) => e.features[1] === 0 && e.features[3] === 1)
    .map((e) => ({
      instance: {
        title: e.title,
        text: e.text,
        price: TINY_STATS.priceMean + e.features[0]! * TINY_STATS.priceStd,
        helpful_vote: Math.expm1(TINY_STATS.helpfulMean + e.features[2]! * TINY_STATS.helpfulStd),
        verified_purchase: true,
      },
      scores: softmax(e.logits),
      scoresInt8: softmax(e.logitsInt8),
    }));
}
