// Argument parsing shared by the commands: node's parseArgs, with mistakes reported as usage errors.
import type { ParseArgsConfig } from "node:util";
import { UsageError } from "./context.ts";
import type { Terminal } from "./follow/printers.ts";
import { parseOptions } from "../schemas/suggest.ts";

export interface Io {
  out: Terminal;
  err: Terminal;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  json: { type: "boolean", default: false },
  config: { type: "string" },
  mode: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: O,
  usage: string,
) {
  const all = { ...GLOBAL_OPTIONS, ...options };
  try {
    return parseOptions({ args: argv, options: all, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${usage}`);
  }
}

export function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, got ${value}`);
  return n;
}

/** How a followed run is printed: JSON lines when asked, a live block on a terminal, plain lines otherwise. */
export function outputMode(json: boolean, out: Terminal): "json" | "live" | "plain" {
  return json ? "json" : out.isTTY ? "live" : "plain";
}
