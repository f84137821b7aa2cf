// One function in its own process, as Cloud Run runs it: functions-framework's server for one target, on loopback only.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { getTestServer } from "@google-cloud/functions-framework/testing";

const { values } = parseArgs({
  options: {
    source: { type: "string", default: "functions/index.ts" },
    target: { type: "string" },
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
if (!values.target || !values.port) {
  console.error(
    "usage: function-host.ts --target NAME --port PORT [--source functions/index.ts] [--host 127.0.0.1]",
  );
  process.exit(2);
}
const started = performance.now();
// Importing the source registers its functions with functions-framework, as `functions-framework --source` does.
await import(pathToFileURL(resolve(values.source)).href);
// The same express app functions-framework serves in Cloud Run, bound to loopback instead of every interface.
const server = getTestServer(values.target);
server.listen(Number(values.port), values.host, () => {
  const line = {
    severity: "INFO",
    message: `function ${values.target} ready on ${values.host}:${values.port}`,
    readyMs: Math.round(performance.now() - started),
    "logging.googleapis.com/labels": { component: "function-host", function: values.target },
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
