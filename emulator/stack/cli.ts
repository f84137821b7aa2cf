// `npm run emulators:start|stop` (and `tsx emulator/stack/cli.ts status`): the local cloud, started and stopped by one command each.
import { resolve } from "node:path";
import { parseOptions } from "../../schemas/suggest.ts";
import type { SubscriberName } from "../../events/topics.ts";
import { launchStack, stopStack } from "./client.ts";
import { alive, readState } from "./state.ts";
import type { StackInfo } from "./stack.ts";
import { FUNCTION_NAMES } from "./topology.ts";

const USAGE = `usage: npm run emulators:start -- [options]   |   npm run emulators:stop   |   tsx emulator/stack/cli.ts status

start options:
  --logs DIR             folder for each process's log (default .local/emulators/logs)
  --ports default|auto   fixed ports (Pub/Sub 8085, Cloud Storage 4443, Vertex 8095, relay 8089, MLflow 5000,
                         functions from 8081 up) or free ones picked now (default: default)
  --pubsub auto|official|pstest   which Pub/Sub emulator (default auto: the Google Cloud CLI's, else pstest)
  --delivery push|pull   how triggers get messages (default push; pull with pstest)
  --functions a,b        function hosts to run (default all: ${FUNCTION_NAMES.join(",")}); --no-functions for none
  --no-mlflow            skip the MLflow tracking server
  --storage memory|filesystem     Cloud Storage emulator backend (default filesystem: objects survive a restart)
  --foreground           run in this terminal until Ctrl-C instead of in the background

The pipeline config comes from the environment as everywhere (PIPELINE_CONFIG, BUCKET, TOPIC_PREFIX, ...).`;

const localRoot = process.env.LOCAL_ROOT ?? ".local";
const stateDir = resolve(localRoot, "emulators");

const [command, ...rest] = process.argv.slice(2);
const { values } = (() => {
  try {
    return parseOptions({
      args: rest,
      options: {
        logs: { type: "string" },
        ports: { type: "string", default: "default" },
        pubsub: { type: "string", default: "auto" },
        delivery: { type: "string" },
        functions: { type: "string" },
        "no-functions": { type: "boolean", default: false },
        "no-mlflow": { type: "boolean", default: false },
        storage: { type: "string", default: "filesystem" },
        foreground: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    fail(`--${name} must be one of ${allowed.join(", ")}, not ${value}\n\n${USAGE}`);
  return value as T;
}

function printInfo(info: StackInfo, pid: number): void {
  const lines = [
    `emulator stack running (supervisor pid ${pid}; ${info.pubsubImplementation} Pub/Sub, ${info.delivery} delivery)`,
    `  Pub/Sub          ${info.endpoints.pubsub}`,
    `  Cloud Storage    ${info.endpoints.storage}`,
    ...(info.endpoints.vertex
      ? [`  Vertex AI        ${info.endpoints.vertex}   (admin ${info.endpoints.vertexAdmin})`]
      : []),
    ...(info.endpoints.relay ? [`  relay            ${info.endpoints.relay}`] : []),
    ...(info.endpoints.mlflow ? [`  MLflow           ${info.endpoints.mlflow}`] : []),
    ...Object.entries(info.endpoints.functions).map(([fn, url]) => `  ${fn.padEnd(16)} ${url}`),
    `  logs             ${info.logsDir}`,
    "",
    "to use it from a shell:",
    ...Object.entries(info.env).map(([k, v]) => `  export ${k}=${v}`),
  ];
  console.log(lines.join("\n"));
}

switch (command) {
  case "start": {
    if (values.help) {
      console.log(USAGE);
      break;
    }
    const existing = readState(stateDir);
    if (existing && alive(existing.pid)) {
      if (existing.status === "ready") printInfo(existing, existing.pid);
      fail(
        `a stack is ${existing.status === "ready" ? "running" : existing.status} already (pid ${existing.pid}); npm run emulators:stop first`,
      );
    }
    const functions: readonly SubscriberName[] = values["no-functions"]
      ? []
      : values.functions
        ? values.functions.split(",").map((f) => oneOf("functions", f.trim(), FUNCTION_NAMES)!)
        : FUNCTION_NAMES;
    const logsDir = resolve(values.logs ?? resolve(stateDir, "logs"));
    const delivery = oneOf("delivery", values.delivery, ["push", "pull"] as const);
    console.log(`starting the emulator stack; logs in ${logsDir}`);
    try {
      const handle = await launchStack({
        detached: !values.foreground,
        stateDir,
        logsDir,
        dataDir: resolve(stateDir, "data"),
        ports: oneOf("ports", values.ports, ["default", "auto"] as const)!,
        pubsub: oneOf("pubsub", values.pubsub, ["auto", "official", "pstest"] as const)!,
        ...(delivery ? { delivery } : {}),
        functions,
        mlflow: !values["no-mlflow"],
        storageBackend: oneOf("storage", values.storage, ["memory", "filesystem"] as const)!,
      });
      printInfo(handle.info, handle.pid);
      if (values.foreground) {
        console.log("\nCtrl-C stops it.");
        const stop = (): void => void handle.stop().then(() => process.exit(0));
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        await new Promise(() => undefined);
      }
    } catch (err) {
      fail((err as Error).message);
    }
    break;
  }
  case "stop": {
    const stopped = await stopStack(stateDir);
    console.log(stopped ? "emulator stack stopped" : "no emulator stack was running");
    break;
  }
  case "status": {
    const state = readState(stateDir);
    if (!state || !alive(state.pid)) {
      console.log("no emulator stack is running");
      process.exitCode = 1;
    } else if (state.status === "ready") printInfo(state, state.pid);
    else console.log(`emulator stack ${state.status} (pid ${state.pid})`);
    break;
  }
  default:
    fail(USAGE);
}
