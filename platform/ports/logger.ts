// The logger port: one structured entry per call, with run, step, attempt and event id as labels.
export type Severity = "DEBUG" | "INFO" | "NOTICE" | "WARNING" | "ERROR" | "CRITICAL";

/** Labels Cloud Logging indexes (`logging.googleapis.com/labels`): filter a run's lines by runId. */
export interface LogLabels {
  runId?: string;
  step?: string;
  attempt?: string | number;
  eventId?: string;
  component?: string;
  [key: string]: string | number | undefined;
}

export interface Logger {
  log(severity: Severity, message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose entries carry these labels too. */
  child(labels: LogLabels): Logger;
}
