// `npm run deploy -- --project P --region R [--dry-run]` and `npm run teardown`: plan, print or apply, report.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseOptions as parseCommandLine } from "../schemas/suggest.ts";
import type { PipelineConfig } from "../schemas/config.ts";
import { ConfigError, loadConfig } from "../schemas/load-config.ts";
import { GcloudRunner } from "./command-runner.ts";
import { applyPlan, DeployError, teardownPlan } from "./executor.ts";
import { InvalidNameError } from "./naming-rules.ts";
import { BUILT_IMAGES } from "./names.ts";
import { buildPlan } from "./plan/build-plan.ts";
import { IMAGE_BUILDS } from "./plan/images.ts";
import { PlanError } from "./plan/order.ts";
import { renderDeployScript, renderTeardownScript } from "./plan/render.ts";
import { renderJobMachines } from "./plan/job-machines.ts";
import type { Plan } from "./plan/types.ts";
import { loadDeploySettings } from "./settings.ts";
import { hashSources, SOURCE_SETS } from "./source-hash.ts";
import { StageError, stageFunctionsSource } from "./stage-functions.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const STAGE_DIR = ".local/deploy/functions-source";

const USAGE = `usage:
  npm run deploy -- --project P --region R [--dry-run] [options]
  npm run teardown -- --project P --region R [--dry-run] [--delete-bucket] [--yes] [options]

options:
  --config FILE             pipeline config (JSON); PIPELINE_CONFIG and the config's environment variables apply too
  --bucket NAME             bucket for uploads/ and runs/ (default: the config's, else PROJECT-sentiment-pipeline)
  --settings FILE           deploy settings (function memory and timeouts, delivery policy, APIs, labels)
  --skip-images             do not build the images (they are built elsewhere)
  --retrigger-member M      may publish retrigger requests, e.g. user:ana@example.com (repeatable)
  --gcloud PATH             the gcloud executable (default: gcloud on PATH)
  --delete-bucket           teardown: remove the bucket and everything in it too
  --yes                     teardown: do it (without it, teardown only prints what it would remove)`;

class UsageError extends Error {
  override readonly name = "UsageError";
}

class HelpRequested extends Error {
  override readonly name = "HelpRequested";
}

interface Options {
  command: "deploy" | "teardown" | "stage-functions";
  project: string;
  region: string;
  dryRun: boolean;
  config?: string;
  bucket?: string;
  settings?: string;
  skipImages: boolean;
  retriggerMembers: string[];
  gcloud: string;
  deleteBucket: boolean;
  yes: boolean;
  out: string;
}

export function parseOptions(argv: readonly string[]): Options {
  const { values, positionals } = parseCommandLine({
    args: [...argv],
    allowPositionals: true,
    options: {
      project: { type: "string" },
      region: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      config: { type: "string" },
      bucket: { type: "string" },
      settings: { type: "string" },
      "skip-images": { type: "boolean", default: false },
      "retrigger-member": { type: "string", multiple: true, default: [] },
      gcloud: { type: "string", default: "gcloud" },
      "delete-bucket": { type: "boolean", default: false },
      yes: { type: "boolean", default: false },
      out: { type: "string", default: STAGE_DIR },
      help: { type: "boolean", default: false },
    },
  });
  const command = positionals[0];
  if (values.help) throw new HelpRequested();
  if (command !== "deploy" && command !== "teardown" && command !== "stage-functions") {
    throw new UsageError(`unknown command ${JSON.stringify(command ?? "")}`);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  if (!values.project) throw new UsageError("--project is required");
  if (!values.region) throw new UsageError("--region is required");
  const options: Options = {
    command,
    project: values.project,
    region: values.region,
    dryRun: values["dry-run"],
    skipImages: values["skip-images"],
    retriggerMembers: values["retrigger-member"],
    gcloud: values.gcloud,
    deleteBucket: values["delete-bucket"],
    yes: values.yes,
    out: values.out,
  };
  if (values.config !== undefined) options.config = values.config;
  if (values.bucket !== undefined) options.bucket = values.bucket;
  if (values.settings !== undefined) options.settings = values.settings;
  return options;
}

/** The config as deployed: gcp mode, the given project and region, and a bucket named after the project by default. */
export function deployConfig(
  o: Pick<Options, "project" | "region" | "config" | "bucket">,
  env: NodeJS.ProcessEnv = process.env,
): PipelineConfig {
  const runtime = { mode: "gcp" as const, projectId: o.project, region: o.region };
  const load = (bucket?: string) =>
    loadConfig({
      env,
      ...(o.config ? { file: o.config } : {}),
      overrides: { runtime: { ...runtime, ...(bucket ? { bucket } : {}) } },
    });
  if (o.bucket) return load(o.bucket);
  const config = load();
  return config.runtime.bucket === "local-bucket" ? load(`${o.project}-sentiment-pipeline`) : config;
}

/** The command the dry-run script uses to stage the functions, with the same config choices. */
function stageCommand(o: Options, bucket: string): string[] {
  return [
    "npx",
    "tsx",
    "deploy/cli.ts",
    "stage-functions",
    `--project=${o.project}`,
    `--region=${o.region}`,
    `--bucket=${bucket}`,
    ...(o.config ? [`--config=${o.config}`] : []),
    `--out=${o.out}`,
  ];
}

export function planFor(o: Options, config: PipelineConfig): Plan {
  const images = Object.fromEntries(
    BUILT_IMAGES.map((k) => [k, hashSources(REPO_ROOT, SOURCE_SETS[k])]),
  ) as Record<(typeof BUILT_IMAGES)[number], string>;
  return buildPlan({
    config,
    settings: loadDeploySettings(o.settings),
    // The config is part of what the functions run with: a changed rule redeploys them.
    sourceHashes: {
      functions: hashSources(REPO_ROOT, SOURCE_SETS.functions, JSON.stringify(config)),
      images,
    },
    stageDir: o.out,
    retriggerMembers: o.retriggerMembers,
    skipImages: o.skipImages,
    stageCommand: stageCommand(o, config.runtime.bucket),
  });
}

/** Dockerfiles that must exist before their image can be built. */
function missingDockerfiles(plan: Plan): string[] {
  return plan.resources
    .filter((r) => r.kind === "image")
    .map((r) => IMAGE_BUILDS[r.key.replace("image/", "") as (typeof BUILT_IMAGES)[number]].dockerfile)
    .filter((file) => !existsSync(join(REPO_ROOT, file)));
}

/** Where the command writes: the plan and scripts on out, progress and errors on err. */
export interface Io {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

export async function main(
  argv: readonly string[],
  io: Io = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const say = (line: string) => io.err.write(`${line}\n`);
  try {
    const o = parseOptions(argv);
    const config = deployConfig(o);
    if (o.command === "stage-functions") {
      stageFunctionsSource({ repoRoot: REPO_ROOT, outDir: o.out, config });
      say(`staged the functions' source in ${o.out}`);
      return 0;
    }
    const plan = planFor(o, config);
    if (o.command === "deploy") {
      if (o.dryRun) {
        io.out.write(renderDeployScript(plan));
        io.out.write(renderJobMachines(config));
        return 0;
      }
      const missing = missingDockerfiles(plan);
      if (missing.length > 0)
        throw new DeployError(
          `cannot build images: ${missing.join(", ")} not found (build them elsewhere and pass --skip-images)`,
        );
      for (const w of plan.warnings) say(`note: ${w}`);
      say(
        `deploying sentiment-pipeline to ${plan.project} (${plan.region}), bucket gs://${config.runtime.bucket}`,
      );
      const report = await applyPlan(plan, {
        runner: new GcloudRunner(o.gcloud),
        log: say,
        stageFunctionsSource: () =>
          Promise.resolve(stageFunctionsSource({ repoRoot: REPO_ROOT, outDir: o.out, config })),
      });
      say(
        `done: ${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged`,
      );
      say(
        `upload a review file to gs://${config.runtime.bucket}/uploads/ to start a run (see docs/deploy.md)`,
      );
      return 0;
    }
    if (o.dryRun || !o.yes) {
      io.out.write(renderTeardownScript(plan, { deleteBucket: o.deleteBucket }));
      if (!o.dryRun) say("nothing was removed: run again with --yes to remove these resources");
      return o.dryRun ? 0 : 2;
    }
    say(`tearing down sentiment-pipeline in ${plan.project} (${plan.region})`);
    const report = await teardownPlan(plan, {
      runner: new GcloudRunner(o.gcloud),
      log: say,
      stageFunctionsSource: () => Promise.resolve(),
      deleteBucket: o.deleteBucket,
    });
    say(
      `done: ${report.deleted.length} deleted, ${report.absent.length} already gone, ${report.kept.length} kept`,
    );
    return 0;
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.out.write(`${USAGE}\n`);
      return 0;
    }
    const parseError =
      err instanceof TypeError && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    if (err instanceof UsageError || parseError) {
      if (err.message) say(`error: ${err.message}`);
      say(USAGE);
      return 2;
    }
    if (
      err instanceof DeployError ||
      err instanceof PlanError ||
      err instanceof ConfigError ||
      err instanceof InvalidNameError ||
      err instanceof StageError ||
      (err instanceof Error && err.message.startsWith("deploy settings"))
    ) {
      say(`error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
