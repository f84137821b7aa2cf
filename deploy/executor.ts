// Runs a plan through gcloud: describe each resource first, create what is missing, fix what drifted, tear down.
import type { CommandResult, CommandRunner } from "./command-runner.ts";
import { teardownSelection } from "./plan/render.ts";
import { placeholdersIn, type Argv, type Plan, type Resource } from "./plan/types.ts";
import { PROVISIONING_DELAYS_SECONDS, provisioningError } from "./provisioning.ts";

export interface ExecutorOptions {
  runner: CommandRunner;
  /** Progress lines for a person: `+` created, `~` updated, `=` unchanged, `-` deleted. */
  log: (line: string) => void;
  /** Compiles and stages the functions' source; called once, before the first function is created or updated. */
  stageFunctionsSource: () => Promise<void>;
  /** Tries per changing command when the error is one that passes quickly (concurrent policy edits, a 503). */
  attempts?: number;
  /** Waits, in seconds, between tries of an error Google's provisioning explains (deploy/provisioning.ts). */
  provisioningDelaysSeconds?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
}

export class DeployError extends Error {
  override readonly name = "DeployError";
}

export interface ApplyReport {
  created: string[];
  updated: string[];
  unchanged: string[];
}

export interface TeardownReport {
  deleted: string[];
  absent: string[];
  kept: string[];
}

/** gcloud's ways of saying a resource is not there. */
const NOT_FOUND = /NOT_FOUND|not found|does not exist|status=\[404\]|\b404\b/i;
/** Errors that pass with time: a new service account not yet visible to IAM, concurrent policy edits, quotas. */
const TRANSIENT =
  /ABORTED|concurrent policy changes|UNAVAILABLE|RESOURCE_EXHAUSTED|\b429\b|\b503\b|does not exist|not found|try again/i;

class Session {
  private readonly cache = new Map<string, CommandResult>();
  private readonly values = new Map<string, Promise<string>>();
  private staged = false;

  constructor(
    private readonly plan: Plan,
    private readonly o: ExecutorOptions,
  ) {}

  /** Replaces `${NAME}` placeholders, reading each variable the first time it is needed. */
  readonly resolve = async (text: string): Promise<string> => {
    let out = text;
    for (const name of placeholdersIn(text)) out = out.replaceAll(`\${${name}}`, await this.variable(name));
    return out;
  };

  /** One read per variable, however many arguments ask for it at once. */
  private variable(name: string): Promise<string> {
    let value = this.values.get(name);
    if (!value) {
      value = this.read(name);
      this.values.set(name, value);
    }
    return value;
  }

  private async read(name: string): Promise<string> {
    const v = this.plan.variables.find((x) => x.name === name);
    if (!v) throw new DeployError(`the plan uses the unknown variable ${name}`);
    const result = await this.o.runner.run(await this.resolveArgv(v.command));
    const value = result.stdout.trim();
    if (result.code !== 0 || value === "") {
      throw new DeployError(
        `reading ${name} (${v.doc}) failed: gcloud ${v.command.join(" ")}\n${result.stderr.trim() || "(no output)"}`,
      );
    }
    return value;
  }

  private async resolveArgv(argv: Argv): Promise<string[]> {
    const out: string[] = [];
    for (const arg of argv) out.push(await this.resolve(arg));
    return out;
  }

  /** Whether the resource exists (and, for bindings, grants what it should), with describe's JSON. */
  async describe(r: Resource): Promise<{ exists: boolean; described: unknown }> {
    const argv = await this.resolveArgv(r.describe);
    const cacheKey = argv.join("\0");
    let result = this.cache.get(cacheKey);
    if (!result) {
      result = await this.o.runner.run(argv);
      this.cache.set(cacheKey, result);
    }
    if (result.code !== 0) {
      if (NOT_FOUND.test(result.stderr)) return { exists: false, described: null };
      throw new DeployError(
        `describing ${r.kind} ${r.name} failed: gcloud ${argv.join(" ")}\n${result.stderr.trim()}`,
      );
    }
    const described = parseJson(result.stdout);
    const exists = r.present ? await r.present(described, this.resolve) : true;
    return { exists, described };
  }

  /** Runs a changing command, retrying errors that pass; any change empties the describe cache. */
  async change(what: string, argv: Argv): Promise<void> {
    const resolved = await this.resolveArgv(argv);
    const attempts = this.o.attempts ?? 5;
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const provisioningDelays = this.o.provisioningDelaysSeconds ?? PROVISIONING_DELAYS_SECONDS;
    let provisioningTries = 0;
    for (let attempt = 1; ; attempt++) {
      const result = await this.o.runner.run(resolved);
      this.cache.clear();
      if (result.code === 0) return;
      // A fresh project's agents and grants take minutes: wait them out rather than fail the last step.
      const provisioning = provisioningError(result.stderr);
      if (provisioning) {
        const delay = provisioningDelays[provisioningTries++];
        if (delay === undefined)
          throw new DeployError(
            `${what} failed (exit ${result.code}) after waiting ${provisioningDelays.reduce((a, b) => a + b, 0)} s for ` +
              `Google to finish provisioning (${provisioning.why}): gcloud ${resolved.join(" ")}\n${result.stderr.trim()}\n` +
              "Run deploy again in a few minutes: it picks up where it stopped.",
          );
        this.o.log(
          `  ${what}: ${provisioning.why} (${firstLine(result.stderr)}); waiting ${delay} s (${provisioningTries}/${provisioningDelays.length})`,
        );
        await sleep(delay * 1000);
        attempt -= 1;
        continue;
      }
      if (attempt >= attempts || !TRANSIENT.test(result.stderr)) {
        throw new DeployError(
          `${what} failed (exit ${result.code}): gcloud ${resolved.join(" ")}\n${result.stderr.trim()}`,
        );
      }
      this.o.log(`  ${what}: ${firstLine(result.stderr)}; trying again (${attempt}/${attempts - 1})`);
      await sleep(1000 * 2 ** attempt);
    }
  }

  async stageOnce(): Promise<void> {
    if (this.staged) return;
    this.o.log("  staging the functions' source");
    await this.o.stageFunctionsSource();
    this.staged = true;
  }
}

/** Creates what is missing and updates what drifted; a second run over the same plan changes nothing. */
export async function applyPlan(plan: Plan, o: ExecutorOptions): Promise<ApplyReport> {
  const s = new Session(plan, o);
  const report: ApplyReport = { created: [], updated: [], unchanged: [] };
  const created = new Set<string>();
  for (const r of plan.resources) {
    const label = `${r.kind} ${r.name}`;
    // What belongs to something created in this run (a binding on a new topic) cannot exist yet: no need to ask.
    const { exists, described } =
      r.ownedBy && created.has(r.ownedBy) ? { exists: false, described: null } : await s.describe(r);
    if (!exists) {
      if (r.missing) throw new DeployError(`${label}: ${r.missing}`);
      if (r.before === "stage-functions-source") await s.stageOnce();
      o.log(`+ ${label}`);
      for (const argv of r.create) await s.change(`creating ${label}`, argv);
      report.created.push(r.key);
      created.add(r.key);
      continue;
    }
    const conflict = r.conflict?.(described) ?? null;
    if (conflict) throw new DeployError(`${label}: ${conflict}`);
    const diffs = r.drift ? await r.drift(described, s.resolve) : [];
    if (diffs.length === 0) {
      o.log(`= ${label}`);
      report.unchanged.push(r.key);
      continue;
    }
    if (!r.update)
      throw new DeployError(
        `${label} differs from the plan and cannot be changed in place: ${diffs.join("; ")}`,
      );
    if (r.before === "stage-functions-source") await s.stageOnce();
    o.log(`~ ${label} (${diffs.join("; ")})`);
    for (const argv of r.update) await s.change(`updating ${label}`, argv);
    report.updated.push(r.key);
  }
  return report;
}

/** Removes what deploy made, newest first; what is already gone is skipped, shared things are kept. */
export async function teardownPlan(
  plan: Plan,
  o: ExecutorOptions & { deleteBucket: boolean },
): Promise<TeardownReport> {
  const s = new Session(plan, o);
  const { remove, keep } = teardownSelection(plan, { deleteBucket: o.deleteBucket });
  const report: TeardownReport = { deleted: [], absent: [], kept: [] };
  for (const r of remove) {
    const label = `${r.kind} ${r.name}`;
    const { exists } = await s.describe(r);
    if (!exists) {
      report.absent.push(r.key);
      continue;
    }
    o.log(`- ${label}`);
    for (const argv of r.delete ?? []) await s.change(`deleting ${label}`, argv);
    report.deleted.push(r.key);
  }
  for (const { resource, reason } of keep) {
    if (resource.ownedBy) continue;
    o.log(`  kept ${resource.kind} ${resource.name}: ${reason}`);
    report.kept.push(resource.key);
  }
  return report;
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}
