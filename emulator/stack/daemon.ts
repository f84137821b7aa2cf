// The stack's supervisor process: starts every piece, writes the state file, stops them all on SIGTERM or when its parent goes.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { loadConfig } from "../../schemas/load-config.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { startStack, type RunningStack } from "./stack.ts";
import { stateFile, type DaemonOptions, type StackState } from "./state.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as DaemonOptions;
const log = new JsonLogger({ labels: { component: "emulator-stack" } });
mkdirSync(options.stateDir, { recursive: true });
const file = stateFile(options.stateDir);
const write = (state: StackState): void => writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);

write({ status: "starting", pid: process.pid });
let stack: RunningStack | null = null;
let stopping = false;

const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log.info("stopping the stack");
  await stack?.stop();
  rmSync(file, { force: true });
  process.exit(code);
};
process.once("SIGTERM", () => void stop(0));
process.once("SIGINT", () => void stop(0));
if (options.exitWithStdin) {
  process.stdin.on("end", () => void stop(0));
  process.stdin.on("error", () => void stop(0));
  process.stdin.resume();
}

try {
  stack = await startStack({ ...options, config: loadConfig(), log });
  write({ status: "ready", pid: process.pid, ...stack.info });
  log.info("stack ready", { endpoints: stack.info.endpoints });
  process.stdout.write(`STACK-READY ${file}\n`);
} catch (err) {
  const message = (err as Error).message;
  log.error(`the stack did not start: ${message}`);
  write({ status: "failed", pid: process.pid, error: message });
  stopping = true;
  process.exit(1);
}
