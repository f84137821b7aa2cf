// The stack's state file: what the supervisor process writes once it is ready, and what the CLI and tests read.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackInfo, StackOptions } from "./stack.ts";

/** The supervisor's one argument (JSON); the pipeline config comes from the environment, as everywhere. */
export type DaemonOptions = Omit<StackOptions, "config" | "log"> & {
  stateDir: string;
  /** Stop when stdin closes: the parent (a test run) died or let go. */
  exitWithStdin?: boolean;
};

export type StackState =
  | { status: "starting"; pid: number }
  | { status: "failed"; pid: number; error: string }
  | ({ status: "ready"; pid: number } & StackInfo);

export function stateFile(stateDir: string): string {
  return join(stateDir, "stack.json");
}

export function readState(stateDir: string): StackState | null {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as StackState;
  } catch {
    // being written right now
    return null;
  }
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
