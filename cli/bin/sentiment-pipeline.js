#!/usr/bin/env node
// The `sentiment-pipeline` bin: loads tsx into this process, then runs the TypeScript entry (cli/main.ts).
import { register } from "tsx/esm/api";

register();
const { runProcess } = await import("../main.ts");
await runProcess();
