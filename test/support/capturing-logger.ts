// A logger that keeps its entries, so tests can assert what was logged and at which severity.
import type { Logger, LogLabels, Severity } from "../../platform/ports/logger.ts";

export interface CapturedEntry {
  severity: Severity;
  message: string;
  labels: LogLabels;
  fields: Record<string, unknown>;
}

export class CapturingLogger implements Logger {
  constructor(
    readonly entries: CapturedEntry[] = [],
    private readonly labels: LogLabels = {},
  ) {}

  log(severity: Severity, message: string, fields: Record<string, unknown> = {}): void {
    this.entries.push({ severity, message, labels: this.labels, fields });
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
    return new CapturingLogger(this.entries, { ...this.labels, ...labels });
  }

  at(severity: Severity): CapturedEntry[] {
    return this.entries.filter((e) => e.severity === severity);
  }
}
