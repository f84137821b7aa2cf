// Job inputs on the command line: `<step> --flag value ...`, strings as they are and everything else as JSON.
import { z } from "zod";
import {
  type JobInput,
  PrepareJobInput,
  TuneJobInput,
  TrainJobInput,
  EvaluateJobInput,
} from "../../schemas/job-input.ts";
import type { JobStep } from "../../schemas/names.ts";

const INPUT_SCHEMAS = {
  prepare: PrepareJobInput,
  tune: TuneJobInput,
  train: TrainJobInput,
  evaluate: EvaluateJobInput,
} as const;

/** Bad job arguments: retrying cannot help. */
export class JobArgumentError extends Error {
  override readonly name = "JobArgumentError";
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Renders a job input as the arguments after the image's entrypoint. */
export function inputToArgs(input: JobInput): string[] {
  const args: string[] = [input.step];
  for (const [key, value] of Object.entries(input)) {
    if (key === "step" || value === undefined) continue;
    args.push(`--${kebab(key)}`, typeof value === "string" ? value : JSON.stringify(value));
  }
  return args;
}

/** Parses `<step> --flag value ...` back into a validated job input, naming the flag at fault. */
export function argsToInput<S extends JobStep>(
  step: S,
  argv: readonly string[],
): z.infer<(typeof INPUT_SCHEMAS)[S]> {
  const schema = INPUT_SCHEMAS[step] as unknown as z.ZodObject;
  const shape = schema.shape as Record<string, z.ZodType>;
  const raw: Record<string, unknown> = { step };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!;
    if (!flag.startsWith("--"))
      throw new JobArgumentError(`${step}: expected a --flag, got ${JSON.stringify(flag)}`);
    const key = camel(flag.slice(2));
    const field = shape[key];
    if (!field) throw new JobArgumentError(`${step}: unknown flag ${flag}`);
    const value = argv[i + 1];
    if (value === undefined) throw new JobArgumentError(`${step}: flag ${flag} needs a value`);
    if (isStringField(field)) raw[key] = value;
    else {
      try {
        raw[key] = JSON.parse(value);
      } catch {
        throw new JobArgumentError(
          `${step}: flag ${flag} must be JSON, got ${JSON.stringify(value.slice(0, 80))}`,
        );
      }
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) =>
        `--${kebab(String(i.path[0] ?? ""))}${i.path.length > 1 ? `.${i.path.slice(1).join(".")}` : ""}: ${i.message}`,
    );
    throw new JobArgumentError(`${step}: invalid arguments: ${issues.slice(0, 5).join("; ")}`);
  }
  return parsed.data as z.infer<(typeof INPUT_SCHEMAS)[S]>;
}

function isStringField(field: z.ZodType): boolean {
  let f: z.ZodType = field;
  while (f instanceof z.ZodOptional || f instanceof z.ZodDefault || f instanceof z.ZodNullable)
    f = f.unwrap() as z.ZodType;
  // A string enum (training.compileStep) travels as its bare value, as the trainer's parser reads it.
  return (
    f instanceof z.ZodString || (f instanceof z.ZodEnum && f.options.every((o) => typeof o === "string"))
  );
}
