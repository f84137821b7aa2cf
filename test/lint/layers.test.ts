// The layer rules in eslint.config.js fail on a deliberate violation of each zone and let the allowed arrows pass.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const LAYER_RULES = new Set(["no-restricted-imports", "no-restricted-syntax"]);
// The real config (its zones, files and ignores), running only the layer rules: they need no type information, so
// the parser skips building the TypeScript program (ten seconds of a CI run for nothing).
const eslint = new ESLint({
  cwd: process.cwd(),
  ruleFilter: ({ ruleId }) => LAYER_RULES.has(ruleId),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

/** The layer messages for `source` imported from `file`. */
async function layerErrors(file: string, source: string, dynamic = false): Promise<string[]> {
  const code = dynamic
    ? `export const load = async (): Promise<unknown> => import(${JSON.stringify(source)});\n`
    : `export * from ${JSON.stringify(source)};\n`;
  const [result] = await eslint.lintText(code, { filePath: file });
  return result!.messages.filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId)).map((m) => m.message);
}

describe("the layer rules", () => {
  it.each([
    ["functions/core/decide.ts", "../../gpu-jobs/specs/build-job-spec.ts", /decision core stays pure/],
    ["functions/core/decide.ts", "../run-processor.ts", /decision core stays pure/],
    ["functions/core/decide.ts", "../../platform/ports/index.ts", /decision core stays pure/],
    ["functions/core/decide.ts", "@google-cloud/storage", /decision core stays pure/],
    ["gpu-jobs/evaluate/job.ts", "../../functions/register.ts", /jobs import no function/],
    ["gpu-jobs/common/job-runtime.ts", "../../functions/core/decide.ts", /jobs import no function/],
    ["gpu-jobs/evaluate/job.ts", "../../emulator/embedded/runtime.ts", /never imports emulator/],
    ["functions/register.ts", "../emulator/embedded/runtime.ts", /never imports emulator/],
    ["functions/run-processor.ts", "../gpu-jobs/inference/index.ts", /only the job spec builders/],
    ["platform/composition-root.ts", "../functions/register.ts", /platform\/ .* imports only schemas/],
    [
      "platform/local/local-run-ledger.ts",
      "../../emulator/embedded/runtime.ts",
      /platform\/ .* imports only/,
    ],
    ["platform/gcp/vertex-job-launcher.ts", "../../gpu-jobs/specs/build-job-spec.ts", /platform\/ .*only/],
    ["serving/server.ts", "../functions/register.ts", /serving imports no function/],
    ["serving/server.ts", "../emulator/embedded/runtime.ts", /never imports emulator/],
    ["schemas/config.ts", "../events/catalogue.ts", /schemas\/ is the bottom layer/],
    ["schemas/config.ts", "../platform/ports/index.ts", /schemas\/ is the bottom layer/],
    ["events/codec.ts", "../platform/ports/index.ts", /events\/ imports only schemas/],
    ["report/run-files.ts", "../emulator/embedded/runtime.ts", /never imports emulator/],
    ["tracking/local-mlflow-server.ts", "../emulator/embedded/job-process.ts", /never imports emulator/],
    ["deploy/settings.ts", "../emulator/stack/stack.ts", /never imports emulator/],
  ])("%s may not import %s", async (file, source, message) => {
    const errors = await layerErrors(file, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it("holds a dynamic import() to the same rule", async () => {
    expect(await layerErrors("gpu-jobs/prepare/cli.ts", "../../functions/composition-root.ts", true)).toEqual(
      [expect.stringMatching(/jobs import no function/)],
    );
    expect(await layerErrors("functions/core/decide.ts", "../../emulator/demo.ts", true)).toHaveLength(1);
    expect(await layerErrors("gpu-jobs/prepare/cli.ts", "../../platform/composition-root.ts", true)).toEqual(
      [],
    );
  });

  it.each([
    ["functions/core/decide.ts", "../../schemas/names.ts"],
    ["functions/core/decide.ts", "../../events/catalogue.ts"],
    ["functions/core/decide.ts", "./step-prerequisites.ts"],
    ["functions/run-processor.ts", "../gpu-jobs/specs/build-job-spec.ts"],
    ["functions/register.ts", "../serving/http-function.ts"],
    ["gpu-jobs/evaluate/job.ts", "../../platform/composition-root.ts"],
    ["serving/served-model.ts", "../gpu-jobs/inference/index.ts"],
    ["platform/composition-root.ts", "./local/local-object-store.ts"],
    ["events/codec.ts", "../schemas/names.ts"],
    ["schemas/config.ts", "./names.ts"],
    ["emulator/embedded/runtime.ts", "../../functions/advance-run.ts"],
    ["cli/embedded-session.ts", "../emulator/embedded/runtime.ts"],
  ])("lets %s import %s", async (file, source) => {
    expect(await layerErrors(file, source)).toEqual([]);
  });
});
