// Starts the stack's supervisor in its own process and stops it: what the CLI (detached) and the e2e suite (attached) use.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./stack.ts";
import { signalGroup } from "./supervisor.ts";
import { alive, readState, stateFile, type DaemonOptions, type StackState } from "./state.ts";
import type { StackInfo } from "./stack.ts";

export interface StackHandle {
  info: StackInfo;
  pid: number;
  /** SIGTERM to the supervisor, which stops every piece; resolves once it has exited. */
  stop(): Promise<void>;
}

export type LaunchOptions = Omit<DaemonOptions, "exitWithStdin"> & {
  /** Detached: the stack outlives this process (the CLI). Attached: it stops when this process exits (tests). */
  detached: boolean;
  /** Environment of the supervisor, and so of every piece (the pipeline config is read from it). */
  processEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
};

export async function launchStack(options: LaunchOptions): Promise<StackHandle> {
  const { detached, processEnv, timeoutMs, ...daemon } = options;
  mkdirSync(daemon.stateDir, { recursive: true });
  mkdirSync(daemon.logsDir, { recursive: true });
  rmSync(stateFile(daemon.stateDir), { force: true });
  const out = openSync(join(daemon.logsDir, "supervisor.log"), "w");
  const args = [
    "--import",
    "tsx",
    join(REPO_ROOT, "emulator/stack/daemon.ts"),
    JSON.stringify({ ...daemon, exitWithStdin: !detached }),
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: processEnv ?? process.env,
    detached,
    // Attached: the supervisor watches our end of its stdin, which closes when we die however we die.
    stdio: [detached ? "ignore" : "pipe", out, out],
  });
  if (detached) child.unref();
  const state = await waitForState(daemon.stateDir, child, timeoutMs ?? 240_000);
  if (state.status !== "ready") {
    rmSync(stateFile(daemon.stateDir), { force: true });
    throw new Error(
      `the emulator stack did not start: ${state.status === "failed" ? state.error : "no state"}\n(logs: ${daemon.logsDir})`,
    );
  }
  return { info: state, pid: state.pid, stop: async () => void (await stopStack(daemon.stateDir, child)) };
}

async function waitForState(stateDir: string, child: ChildProcess, timeoutMs: number): Promise<StackState> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once("exit", () => (exited = true));
  for (;;) {
    const state = readState(stateDir);
    if (state && state.status !== "starting") return state;
    if (exited && !readState(stateDir))
      return { status: "failed", pid: child.pid ?? -1, error: "the supervisor exited without a word" };
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      return {
        status: "failed",
        pid: child.pid ?? -1,
        error: `not ready after ${Math.round(timeoutMs / 1000)} s`,
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops the stack whose state lives in stateDir; false when none was running. */
export async function stopStack(
  stateDir: string,
  child?: ChildProcess,
  timeoutMs = 60_000,
): Promise<boolean> {
  const state = readState(stateDir);
  const pid = state?.pid ?? child?.pid;
  // Pieces a dead supervisor left behind (it was killed outright) are stopped by their process groups.
  const leftovers = (): number => {
    const pieces = state?.status === "ready" ? state.pieces.filter((p) => p.pid > 0 && alive(p.pid)) : [];
    for (const p of pieces) signalGroup(p.pid, "SIGKILL");
    return pieces.length;
  };
  if (!pid || !alive(pid)) {
    const stopped = leftovers();
    rmSync(stateFile(stateDir), { force: true });
    return stopped > 0;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, "SIGKILL");
  leftovers();
  rmSync(stateFile(stateDir), { force: true });
  return true;
}
