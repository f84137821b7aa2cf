// The logger as one JSON line per entry with Cloud Logging's keys, so Cloud Console can filter by run, step and attempt.
import type { Logger, LogLabels, Severity } from "./ports/logger.ts";

export const LABELS_KEY = "logging.googleapis.com/labels";
export const TRACE_KEY = "logging.googleapis.com/trace";

export interface JsonLoggerOptions {
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
  labels?: LogLabels;
  minSeverity?: Severity;
  /** Cloud Trace resource, `projects/P/traces/T`, when known. */
  trace?: string;
}

const ORDER: Severity[] = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"];

export class JsonLogger implements Logger {
  private readonly write: (line: string) => void;
  private readonly labels: Record<string, string>;
  private readonly min: number;
  private readonly trace: string | undefined;

  constructor(options: JsonLoggerOptions = {}) {
    this.write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
    this.labels = stringLabels(options.labels ?? {});
    this.min = ORDER.indexOf(options.minSeverity ?? "DEBUG");
    this.trace = options.trace;
  }

  log(severity: Severity, message: string, fields: Record<string, unknown> = {}): void {
    if (ORDER.indexOf(severity) < this.min) return;
    const entry: Record<string, unknown> = { severity, message, time: new Date().toISOString(), ...fields };
    if (Object.keys(this.labels).length > 0) entry[LABELS_KEY] = this.labels;
    if (this.trace) entry[TRACE_KEY] = this.trace;
    this.write(JSON.stringify(entry, errorReplacer));
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log("DEBUG", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log("INFO", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log("WARNING", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log("ERROR", message, fields);
  }

  child(labels: LogLabels): Logger {
    return new JsonLogger({
      write: this.write,
      labels: { ...this.labels, ...labels },
      minSeverity: ORDER[this.min] ?? "DEBUG",
      ...(this.trace ? { trace: this.trace } : {}),
    });
  }
}

function stringLabels(labels: LogLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = String(v);
  return out;
}

/** Errors serialise as message and stack instead of `{}`. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
