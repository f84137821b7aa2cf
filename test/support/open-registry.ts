// A separate process that opens the embedded registry under LOCAL_ROOT (migrating it if need be) and prints what it saw.
import { createEmbeddedAdapters } from "../../platform/composition-root.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { parseConfig } from "../../schemas/load-config.ts";

const config = parseConfig({ runtime: { mode: "embedded", localRoot: process.env.LOCAL_ROOT! } });
const lines: string[] = [];
const { registry } = createEmbeddedAdapters(config, new JsonLogger({ write: (l) => void lines.push(l) }));
const champion = await registry.getChampion(process.argv[2] ?? "minilm-3class");
process.stdout.write(`${JSON.stringify({ champion, log: lines })}\n`);
