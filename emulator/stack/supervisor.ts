// Starts the stack's processes, each in its own process group with its log file, restarts crashed stateless ones, stops all.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../platform/ports/logger.ts";

export interface PieceSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves once the piece serves; `died` tells why it cannot any more. */
  ready: (died: () => string | null) => Promise<void>;
  /** Stateless pieces (function hosts, the relay) come back after a crash; emulators lose their state, so they do not. */
  restart?: boolean;
  /** Seconds between SIGTERM and SIGKILL when stopping. */
  stopGraceSeconds?: number;
}

export interface RunningPiece {
  name: string;
  pid: number;
  logFile: string;
  /** Milliseconds from spawn to ready, of the latest start. */
  readyMs: number;
  restarts: number;
}

interface Managed {
  spec: PieceSpec;
  child: ChildProcess;
  log: WriteStream;
  logFile: string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  readyMs: number;
  restarts: number;
  stopping: boolean;
  exited: Promise<void>;
}

export class Supervisor {
  private readonly pieces: Managed[] = [];
  private closing = false;

  constructor(
    readonly logsDir: string,
    private readonly log: Logger,
    /** Called when a piece that is not restarted dies while the stack runs. */
    private readonly onFatal: (name: string, reason: string) => void = () => undefined,
  ) {
    mkdirSync(logsDir, { recursive: true });
  }

  async start(spec: PieceSpec): Promise<RunningPiece> {
    const managed = this.spawn(spec, 0);
    this.pieces.push(managed);
    await this.awaitReady(managed);
    return this.describe(managed);
  }

  running(): RunningPiece[] {
    return this.pieces.map((m) => this.describe(m));
  }

  /** Stops the pieces in reverse start order: SIGTERM to the group, SIGKILL after the grace period. */
  async stopAll(): Promise<void> {
    this.closing = true;
    for (const m of [...this.pieces].reverse()) await this.stop(m);
  }

  /** Last lines of a piece's log, for error messages. */
  tail(name: string, lines = 15): string {
    const m = this.pieces.find((p) => p.spec.name === name);
    if (!m) return "";
    try {
      return readFileSync(m.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }

  private spawn(spec: PieceSpec, restarts: number): Managed {
    const logFile = join(this.logsDir, `${spec.name}.log`);
    const log = createWriteStream(logFile, { flags: restarts === 0 ? "w" : "a" });
    log.write(`# ${new Date().toISOString()} start ${spec.command} ${spec.args.join(" ")}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: stopping the piece stops what it started too (a job's replica, java under a script).
      detached: true,
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const managed: Managed = {
      spec,
      child,
      log,
      logFile,
      exit: null,
      readyMs: 0,
      restarts,
      stopping: false,
      exited: Promise.resolve(),
    };
    managed.exited = new Promise<void>((resolve) => {
      child.once("error", (err) => {
        managed.exit = { code: 127, signal: null };
        log.write(`# could not start: ${err.message}\n`);
        resolve();
      });
      child.once("exit", (code, signal) => {
        managed.exit = { code, signal };
        log.write(`# ${new Date().toISOString()} exited ${signal ? `by ${signal}` : `with ${code}`}\n`);
        resolve();
      });
    });
    void managed.exited.then(() => this.onExit(managed));
    return managed;
  }

  private async awaitReady(m: Managed): Promise<void> {
    const started = performance.now();
    const died = (): string | null =>
      m.exit
        ? `exited ${m.exit.signal ? `by ${m.exit.signal}` : `with ${m.exit.code}`} before it was ready; see ${m.logFile}`
        : null;
    try {
      await m.spec.ready(died);
    } catch (err) {
      const tail = this.tail(m.spec.name);
      throw new Error(
        `${(err as Error).message}${tail ? `\n--- last lines of ${m.logFile}:\n${tail}` : ""}`,
        { cause: err },
      );
    }
    m.readyMs = Math.round(performance.now() - started);
    this.log.info(`${m.spec.name} ready in ${m.readyMs} ms`, {
      piece: m.spec.name,
      pid: m.child.pid,
      readyMs: m.readyMs,
    });
  }

  private onExit(m: Managed): void {
    if (m.stopping || this.closing) return;
    const how = m.exit?.signal ? `by ${m.exit.signal}` : `with ${m.exit?.code}`;
    if (!m.spec.restart || m.restarts >= 5) {
      this.log.error(`${m.spec.name} exited ${how}; it is not restarted`, { piece: m.spec.name });
      this.onFatal(m.spec.name, `exited ${how}`);
      return;
    }
    this.log.warn(`${m.spec.name} exited ${how}; restarting it`, { piece: m.spec.name });
    const index = this.pieces.indexOf(m);
    setTimeout(
      () => {
        if (this.closing) return;
        const next = this.spawn(m.spec, m.restarts + 1);
        this.pieces[index] = next;
        this.awaitReady(next).catch((err: unknown) =>
          this.log.error(`${m.spec.name} did not come back: ${(err as Error).message}`),
        );
      },
      500 * 2 ** m.restarts,
    );
  }

  private async stop(m: Managed): Promise<void> {
    m.stopping = true;
    if (!m.exit && m.child.pid) {
      signalGroup(m.child.pid, "SIGTERM");
      const grace = (m.spec.stopGraceSeconds ?? 10) * 1000;
      const timer = setTimeout(() => signalGroup(m.child.pid!, "SIGKILL"), grace);
      await m.exited;
      clearTimeout(timer);
    }
    // Whatever the piece started and left behind goes with it.
    if (m.child.pid) signalGroup(m.child.pid, "SIGKILL");
    await new Promise<void>((resolve) => m.log.end(resolve));
  }

  private describe(m: Managed): RunningPiece {
    return {
      name: m.spec.name,
      pid: m.child.pid ?? -1,
      logFile: m.logFile,
      readyMs: m.readyMs,
      restarts: m.restarts,
    };
  }
}

/** Signals a process group; a group that is gone already is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // no such group: it has exited
  }
}
