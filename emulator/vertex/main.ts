// Entry of the Vertex AI stand-in process: serves the job and model services on loopback for the official clients.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../schemas/load-config.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { LocalReplicaLauncher } from "./replica-launcher.ts";
import { PubSubEntrySink } from "./pubsub-entry-sink.ts";
import { VertexStandIn } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "admin-port": { type: "string", default: "0" },
    "jobs-log-dir": { type: "string", default: ".local/emulators/logs/jobs" },
    "grace-seconds": { type: "string", default: "30" },
  },
});
const log = new JsonLogger({ labels: { component: "vertex-stand-in" } });
// The same config the functions read: local commands per image, project, topic prefix and the Pub/Sub emulator.
const config = loadConfig();
const jobsLogDir = resolve(values["jobs-log-dir"]);
const host = config.runtime.pubsubEmulatorHost;
const sink = host
  ? new PubSubEntrySink({
      projectId: config.runtime.projectId,
      emulatorHost: host,
      topicPrefix: config.runtime.topicPrefix,
    })
  : null;
if (!sink) log.warn("PUBSUB_EMULATOR_HOST is not set: job state entries are not published");

const standIn = await VertexStandIn.start({
  launcher: new LocalReplicaLauncher({
    config,
    logFileOf: (s) => join(jobsLogDir, `${s.displayName}-${s.jobId}.log`),
  }),
  log,
  port: Number(values.port),
  adminPort: Number(values["admin-port"]),
  graceSeconds: Number(values["grace-seconds"]),
  ...(sink ? { onEntry: (e) => sink.publish(e) } : {}),
});
log.info(
  `Vertex AI stand-in ready on ${standIn.endpoint} (admin on ${standIn.adminPort}); job logs in ${jobsLogDir}`,
);

const stop = (): void => {
  standIn
    .close()
    .then(() => sink?.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
