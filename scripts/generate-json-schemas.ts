// `npm run schemas`: rewrites schemas/json/ from the zod sources (a test fails when they are stale).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderJsonSchemas } from "../events/json-schemas.ts";

const dir = join(import.meta.dirname, "..", "schemas", "json");
mkdirSync(dir, { recursive: true });
const rendered = renderJsonSchemas();
for (const file of readdirSync(dir)) if (!rendered.has(file)) rmSync(join(dir, file));
for (const [file, text] of rendered) writeFileSync(join(dir, file), text);
console.log(`wrote ${rendered.size} JSON Schema files to ${dir}`);
