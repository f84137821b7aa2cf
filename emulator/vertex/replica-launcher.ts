// Runs a CustomJob's replica (worker pool 0's chief, or a pool 1 worker) as a local process: the image becomes its local command, as in embedded mode.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { delimiter, dirname } from "node:path";
import type { PipelineConfig } from "../../schemas/config.ts";
import type { ImageKey } from "../../schemas/job-spec.ts";
import { imageUri } from "../../gpu-jobs/specs/build-job-spec.ts";
import { startJobProcess } from "../embedded/job-process.ts";
import { TRAINER_SOURCE, trainerPython } from "../../platform/local/trainer-python.ts";

export interface ContainerSpec {
  imageUri: string;
  command: string[];
  args: string[];
  env: Array<{ name: string; value: string }>;
}

export interface ReplicaSpec {
  jobId: string;
  displayName: string;
  /** workerpool0-0 */
  taskName: string;
  container: ContainerSpec;
  /** What Vertex adds to the container's environment (AIP_*, CLOUD_ML_JOB_ID, CLUSTER_SPEC). */
  vertexEnv: Record<string, string>;
}

export interface Replica {
  pid: number | undefined;
  /** `task`: which replica ended a job of several (workerpool1-0), when it was not the chief. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; task?: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts replicas; the stand-in's only way to run code, so tests can script it. */
export interface ReplicaLauncher {
  start(spec: ReplicaSpec): Replica;
}

/** The command of an image: an explicit container command wins, else the config's local command for the image. */
export function localCommandFor(
  config: PipelineConfig,
  container: ContainerSpec,
  python: () => string = trainerPython,
): string[] {
  if (container.command.length > 0) return [...container.command, ...container.args];
  const key = imageKeyOf(config, container.imageUri);
  if (!key) {
    throw new Error(
      `no local command for image ${container.imageUri}: the stand-in runs the images named in config.images ` +
        `(${imageUri(config, "trainer")}, ${imageUri(config, "jobs")}) or any image whose name is trainer or jobs`,
    );
  }
  const template = config.runtime.localCommands[key];
  return [...template.map((part) => (part === "{python}" ? python() : part)), ...container.args];
}

/** Which of the project's images a URI names: exactly as configured, or by its last path segment. */
export function imageKeyOf(config: PipelineConfig, uri: string): ImageKey | null {
  for (const key of ["trainer", "jobs"] as const) if (imageUri(config, key) === uri) return key;
  const name =
    uri
      .replace(/[@:][^/]*$/, "")
      .split("/")
      .pop() ?? "";
  return name === "trainer" || name === "jobs" ? name : null;
}

export interface LocalReplicaLauncherOptions {
  config: PipelineConfig;
  /** A replica's log file; its stdout and stderr lines go there. Null: lines are dropped. */
  logFileOf?: (spec: ReplicaSpec) => string | null;
  /** Environment under the container's: the stand-in's own by default. */
  baseEnv?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class LocalReplicaLauncher implements ReplicaLauncher {
  constructor(private readonly options: LocalReplicaLauncherOptions) {}

  start(spec: ReplicaSpec): Replica {
    const path = this.options.logFileOf?.(spec) ?? null;
    let log: WriteStream | null = null;
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      log = createWriteStream(path, { flags: "a" });
    }
    let command: string[];
    try {
      command = localCommandFor(this.options.config, spec.container);
    } catch (err) {
      log?.end(`${(err as Error).message}\n`);
      return { pid: undefined, exited: Promise.resolve({ code: 127, signal: null }), kill: () => undefined };
    }
    const containerEnv = Object.fromEntries(spec.container.env.map((e) => [e.name, e.value]));
    const base = stringEnv(this.options.baseEnv ?? process.env);
    // The trainer image has its package installed; locally the package is the folder beside its scripts.
    const pythonPath = [TRAINER_SOURCE, base.PYTHONPATH].filter(Boolean).join(delimiter);
    const env = { ...base, PYTHONPATH: pythonPath, ...containerEnv, ...spec.vertexEnv };
    const proc = startJobProcess({
      command,
      env,
      ...(this.options.cwd ? { cwd: this.options.cwd } : {}),
      onLine: (stream, line) => log?.write(`${stream === "stderr" ? "E " : ""}${line}\n`),
    });
    return {
      pid: proc.pid,
      exited: proc.exited.then((r) => {
        log?.end();
        return r;
      }),
      kill: (signal) => proc.kill(signal),
    };
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
