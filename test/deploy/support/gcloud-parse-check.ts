// Hands gcloud commands to the installed Google Cloud CLI with a token that works nowhere and every API pointed at a
// local server that refuses all requests: a command that reaches the server parsed and validated its arguments.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Argv, Plan } from "../../../deploy/plan/types.ts";
import { placeholdersIn } from "../../../deploy/plan/types.ts";

/** The APIs the plan's commands call, by gcloud's endpoint override name (CLOUDSDK_API_ENDPOINT_OVERRIDES_<NAME>). */
export const OVERRIDDEN_APIS = [
  "artifactregistry",
  "cloudbuild",
  "cloudfunctions",
  "cloudresourcemanager",
  "cloudscheduler",
  "iam",
  "logging",
  "pubsub",
  "run",
  "secretmanager",
  "serviceusage",
  "storage",
] as const;

/** What argparse prints when it refuses a command line (exit code 2). */
const PARSE_ERROR =
  /unrecognized arguments|argument [^\n]*: (invalid choice|Must be specified|expected|Bad syntax|Invalid value)|must be one of|is required|too few arguments|Invalid choice|(^|\n)Usage: gcloud/i;

/** Values for the plan's variables, shaped like the real ones. */
export const SAMPLE_VARIABLES: Record<string, string> = {
  PROJECT_NUMBER: "123456789012",
  STORAGE_AGENT: "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
  SINK_WRITER: "serviceAccount:service-123456789012@gcp-sa-logging.iam.gserviceaccount.com",
  UPLOAD_NOTIFICATION: "1",
};

function substitute(arg: string): string {
  let out = arg;
  for (const name of placeholdersIn(arg)) {
    const value = name.startsWith("URL_")
      ? `https://${name.slice(4).toLowerCase().replace(/_/g, "-")}-abc123-ez.a.run.app`
      : SAMPLE_VARIABLES[name];
    if (value === undefined) throw new Error(`no sample value for the plan variable ${name}`);
    out = out.replaceAll(`\${${name}}`, value);
  }
  return out;
}

/** Every command of the plans (describe, create, update, delete, variables), placeholders filled in. */
export function planCommands(plans: readonly Plan[]): Argv[] {
  const all: Argv[] = [];
  for (const plan of plans) {
    for (const r of plan.resources)
      all.push(r.describe, ...r.create, ...(r.update ?? []), ...(r.delete ?? []));
    for (const v of plan.variables) all.push(v.command);
  }
  return all.map((argv) => argv.map(substitute));
}

/**
 * One command per shape: commands that differ only in the names of the plan's resources (twelve `topics create`)
 * parse alike, so the first of each stands for the rest. Flags and their values otherwise stay as they are.
 */
export function oneOfEachShape(argvs: readonly Argv[], names: readonly string[]): Argv[] {
  const longestFirst = [...new Set(names)].filter((n) => n.length >= 3).sort((a, b) => b.length - a.length);
  const shapes = new Map<string, Argv>();
  for (const argv of argvs) {
    const key = argv.map((a) => longestFirst.reduce((s, n) => s.replaceAll(n, "<name>"), a)).join("\u0000");
    if (!shapes.has(key)) shapes.set(key, argv);
  }
  return [...shapes.values()];
}

export interface ParseVerdict {
  argv: Argv;
  code: number;
  /** Whether the command got as far as calling an API. */
  reachedApi: boolean;
  parseError: boolean;
  /** The first lines of stderr, for the failure message. */
  stderr: string;
  seconds: number;
}

/** The installed gcloud, or null. */
export function installedGcloud(): string | null {
  try {
    return execFileSync("bash", ["-c", "command -v gcloud"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** Where the SDK installed behind a gcloud executable keeps its Python code, and the Python it runs with. */
export function sdkOf(gcloud: string): { lib: string; python: string } {
  const root = dirname(dirname(realpathSync(gcloud)));
  const bundled = join(root, "platform", "bundledpythonunix", "bin", "python3");
  return {
    lib: join(root, "lib"),
    python: process.env.CLOUDSDK_PYTHON ?? (existsSync(bundled) ? bundled : "python3"),
  };
}

const DRIVER = join(import.meta.dirname, "gcloud_parse_driver.py");

/** A server that answers 403 to everything, counting the requests of each worker (its path prefix). */
async function refusingServer(): Promise<{ server: Server; port: number; requests: Map<string, number> }> {
  const requests = new Map<string, number>();
  const server = createServer((req, res) => {
    const worker = /^\/w(\d+)\//.exec(req.url ?? "")?.[1] ?? "?";
    requests.set(worker, (requests.get(worker) ?? 0) + 1);
    req.resume();
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: 403, message: "parse check", status: "PERMISSION_DENIED" } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

/**
 * Runs each command through gcloud's own CLI, one command at a time in each of `workers` gcloud processes, and says
 * how far each got: a command that made a request to the (refusing) API parsed and validated its arguments.
 */
export async function parseCheck(
  gcloud: string,
  argvs: readonly Argv[],
  o: { project: string; workers: number; cwd: string },
): Promise<ParseVerdict[]> {
  const home = mkdtempSync(join(tmpdir(), "sp-gcloud-parse-"));
  // A token gcloud uses as it is, without a refresh: commands go straight to the API, which is the local server.
  const token = join(home, "access-token");
  writeFileSync(token, "parse-check-token\n");
  const { server, port, requests } = await refusingServer();
  const sdk = sdkOf(gcloud);
  const verdicts: ParseVerdict[] = new Array<ParseVerdict>(argvs.length);
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      CLOUDSDK_CONFIG: join(home, `config-${w}`),
      CLOUDSDK_CORE_PROJECT: o.project,
      CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
      CLOUDSDK_CORE_CHECK_GCE_METADATA: "false",
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: token,
      CLOUDSDK_ENCODING: "UTF-8",
      PYTHONIOENCODING: "UTF-8",
      NO_PROXY: "127.0.0.1",
    };
    for (const api of OVERRIDDEN_APIS)
      env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`] = `http://127.0.0.1:${port}/w${w}/`;
    const driver = new Driver(sdk.python, [DRIVER, sdk.lib], env, o.cwd);
    try {
      for (let i = next++; i < argvs.length; i = next++) {
        const argv = argvs[i]!;
        const before = requests.get(String(w)) ?? 0;
        const started = performance.now();
        const { code, stderr } = await driver.execute(String(i), argv);
        verdicts[i] = {
          argv,
          code,
          reachedApi: (requests.get(String(w)) ?? 0) > before,
          parseError: code === 2 || PARSE_ERROR.test(stderr),
          stderr: stderr.trim().split("\n").slice(0, 4).join("\n"),
          seconds: (performance.now() - started) / 1000,
        };
      }
    } finally {
      await driver.close();
    }
  };
  try {
    await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return verdicts;
}

/** One gcloud CLI process that runs the commands it is sent, one at a time. */
class Driver {
  private readonly child: ChildProcess;
  private stderr = "";
  private waiting: ((done: { code: number; stderr: string }) => void) | null = null;
  private exited: Error | null = null;

  constructor(python: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn(python, args, { env, cwd, stdio: ["pipe", "ignore", "pipe"] });
    this.child.stderr!.on("data", (b: Buffer) => {
      this.stderr += b.toString("utf8");
      const m = /\n@@done (\S+) (-?\d+)\n/.exec(this.stderr);
      if (m && this.waiting) {
        const text = this.stderr.slice(0, m.index);
        this.stderr = this.stderr.slice(m.index + m[0].length);
        const resolve = this.waiting;
        this.waiting = null;
        resolve({ code: Number(m[2]), stderr: text });
      }
    });
    this.child.on("close", (code) => {
      this.exited = new Error(`the gcloud driver exited (${code}): ${this.stderr.slice(-2000)}`);
      if (this.waiting) this.waiting({ code: 255, stderr: this.exited.message });
    });
  }

  execute(id: string, argv: Argv): Promise<{ code: number; stderr: string }> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.child.stdin!.write(`${JSON.stringify({ id, argv })}\n`);
    });
  }

  close(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("close", () => resolve());
      this.child.stdin!.end();
    });
  }
}
