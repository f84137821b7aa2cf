// What every command needs: the config, the bucket (a folder in embedded mode), the run ledger, and how to show a URI.
import type { PipelineConfig } from "../schemas/config.ts";
import { ConfigError, loadConfig } from "../schemas/load-config.ts";
import type { PipelineConfigInput } from "../schemas/config.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import type { RunLedger } from "../platform/ports/run-ledger.ts";
import { createObjectStore, createRunLedger } from "../platform/composition-root.ts";
import { displayLocation } from "../report/report-location.ts";

/** A mistake in how the command was called: the message is for the person, the exit status is 1. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export interface CliContext {
  config: PipelineConfig;
  store: ObjectStore;
  ledger: RunLedger;
  /** A local path in embedded mode (a browser opens it), the gs:// URI otherwise. */
  display(uri: string): string;
}

export interface GlobalOptions {
  config?: string | undefined;
  mode?: string | undefined;
}

export function loadCliConfig(
  global: GlobalOptions,
  env: NodeJS.ProcessEnv,
  overrides: PipelineConfigInput = {},
): PipelineConfig {
  const mode = global.mode;
  if (mode !== undefined && !["embedded", "emulators", "gcp"].includes(mode))
    throw new UsageError(`--mode must be embedded, emulators or gcp, not ${mode}`);
  const runtime = { ...(overrides.runtime ?? {}), ...(mode ? { mode: mode as "embedded" } : {}) };
  try {
    return loadConfig({
      env,
      ...(global.config ? { file: global.config } : {}),
      overrides: { ...overrides, runtime },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export function openContext(config: PipelineConfig): CliContext {
  const store = createObjectStore(config);
  const ledger = createRunLedger(config, store);
  // A local path in embedded mode (the store is a folder), the gs:// URI otherwise.
  return { config, store, ledger, display: (uri) => displayLocation(store, uri) };
}
