// Renders job inputs (JSON on stdin) as the TypeScript side does: validated by zod, then inputToArgs.
import { readFileSync } from "node:fs";
import { JobInput } from "../../../../schemas/job-input.ts";
import { inputToArgs } from "../../../specs/job-args.ts";

const inputs = JSON.parse(readFileSync(0, "utf8")) as unknown[];
const out = inputs.map((raw) => {
  const input = JobInput.parse(raw);
  return { input, args: inputToArgs(input) };
});
process.stdout.write(JSON.stringify(out));
