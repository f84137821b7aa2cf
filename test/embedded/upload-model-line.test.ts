// The embedded runtime end to end: an upload's model-line metadata reaches the registry and the report; a bad one is kept.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../emulator/embedded/runtime.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import type { PipelineConfigInput } from "../../schemas/config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

const SCRIPT = join(import.meta.dirname, "../support/scripted-job.ts");
let runtime: EmbeddedRuntime | undefined;

function start(overrides: PipelineConfigInput = {}) {
  const root = mkdtempSync(join(tmpdir(), "sp-line-e2e-"));
  const config = parseConfig({ ...overrides, runtime: { mode: "embedded", localRoot: root } });
  process.env.SCRIPTED_PLAN = "{}";
  runtime = new EmbeddedRuntime({
    config,
    log: new CapturingLogger(),
    commandFor: () => [process.execPath, "--import", "tsx", SCRIPT],
    tracker: null,
  });
  return { runtime, root };
}

afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

const reviews = Buffer.from('{"rating":5,"title":"great","text":"works"}\n');

describe("an upload that names its model line", () => {
  it("registers the model in that line, ahead of the config's training.modelLine, and the report names it", async () => {
    const { runtime, root } = start({ training: { modelLine: "configured-line" } });
    const { runId } = await runtime.upload(reviews, "books.jsonl", {
      metadata: { "model-line": "books-3class" },
    });
    const state = await runtime.waitForRun(runId, 60_000);
    expect(state.outcome).toBe("promoted");
    expect(state.uploadModelLine).toBe("books-3class");
    expect(state.modelLine).toBe("books-3class");
    expect(await runtime.registry.getChampion("books-3class")).toMatchObject({ runId, version: "1" });
    expect(await runtime.registry.getChampion("configured-line")).toBeNull();
    const report = readFileSync(join(root, "bucket", "runs", runId, "report.html"), "utf8");
    expect(report).toContain("<b>model line</b> <code>books-3class</code>");
  });

  it("rejects an upload whose line is not one: no run starts and the notification is kept with the reason", async () => {
    const { runtime } = start();
    const { runId } = await runtime.upload(reviews, "bad.jsonl", { metadata: { "model-line": "../etc" } });
    await runtime.settle();
    expect(await runtime.state(runId)).toBeNull();
    expect(runtime.deadLetters.kept).toHaveLength(1);
    expect(runtime.deadLetters.kept[0]!.reason).toMatch(
      /^upload gs:\/\/local-bucket\/uploads\/bad\.jsonl#\d+: custom metadata "model-line" is "\.\.\/etc", not a model line/,
    );
  });
});
