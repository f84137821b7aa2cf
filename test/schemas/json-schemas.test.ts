// The JSON Schemas the Python side validates against must be regenerated whenever a zod schema changes.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderJsonSchemas } from "../../events/json-schemas.ts";

const dir = join(import.meta.dirname, "../../schemas/json");

describe("generated JSON Schemas", () => {
  it("are current: `npm run schemas` would change nothing", () => {
    const rendered = renderJsonSchemas();
    expect(readdirSync(dir).sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered)
      expect(readFileSync(join(dir, file), "utf8"), `${file} is stale: run npm run schemas`).toBe(text);
  });

  it("cover every job input and every event the trainer writes", () => {
    const files = [...renderJsonSchemas().keys()];
    for (const f of [
      "tune-job-input",
      "train-job-input",
      "event.tuning.completed",
      "event.training.completed",
      "event.job.failed",
      "model-metadata",
      "prepared-review",
    ]) {
      expect(files).toContain(`${f}.schema.json`);
    }
  });
});
