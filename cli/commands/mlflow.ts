// `sentiment-pipeline mlflow`: serves the local tracking store (every embedded run's experiment) until Ctrl-C.
import { parse, positiveNumber, type Io } from "../args.ts";
import { loadCliConfig, UsageError } from "../context.ts";
import { localMlflowDir } from "../embedded-session.ts";
import { EXIT } from "../exit-codes.ts";
import { startLocalMlflow } from "../../tracking/local-mlflow-server.ts";
import { help } from "./watch.ts";

export const MLFLOW_USAGE = `usage: sentiment-pipeline mlflow [--port N]

Starts the MLflow UI over the local tracking store that \`npm run demo\` and \`run --mlflow\` record into
(LOCAL_ROOT/mlflow), on 127.0.0.1, until Ctrl-C. With MLFLOW_TRACKING_URI set, open that server instead.`;

export async function mlflowCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { port: { type: "string" } }, MLFLOW_USAGE);
  if (values.help) return help(io, MLFLOW_USAGE);
  const config = loadCliConfig(values, io.env);
  if (config.runtime.mlflowTrackingUri) {
    io.out.write(`MLflow is configured at ${config.runtime.mlflowTrackingUri}: open it there\n`);
    return EXIT.ok;
  }
  const port = positiveNumber(values.port, "--port");
  if (port !== undefined && (!Number.isInteger(port) || port > 65535))
    throw new UsageError("--port must be a port number");
  io.err.write("starting MLflow (a first start creates the store and takes a while)...\n");
  const server = await startLocalMlflow({ dir: localMlflowDir(config), ...(port ? { port } : {}) });
  io.out.write(`MLflow UI: ${server.uri}  (store ${server.dir}; Ctrl-C stops it)\n`);
  await new Promise<void>((r) =>
    io.signal.aborted ? r() : io.signal.addEventListener("abort", () => r(), { once: true }),
  );
  await server.stop();
  return EXIT.ok;
}
