// Entry of the relay process: `node --import tsx emulator/stack/relay-main.ts CONFIG.json` (the stack writes the file).
import { readFileSync } from "node:fs";
import { JsonLogger } from "../../platform/json-logger.ts";
import { Relay, type RelayOptions } from "./relay.ts";

const file = process.argv[2];
if (!file) {
  console.error("usage: relay-main.ts CONFIG.json");
  process.exit(2);
}
const log = new JsonLogger({ labels: { component: "relay" } });
const options = JSON.parse(readFileSync(file, "utf8")) as Omit<RelayOptions, "log">;
const relay = new Relay({ ...options, log });
await relay.start();
log.info(`relay ready on ${relay.port} (${options.delivery} delivery, ${options.routes.length} triggers)`);

const stop = (): void => {
  relay.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
