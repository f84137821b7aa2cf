// Holds the instance's one served model: loads it once (eagerly or on the first request), lets concurrent callers
// share the one load, and after a failed load tries again only once a pause has passed.
import { InvalidModelError } from "../gpu-jobs/inference/index.ts";
import type { Logger } from "../platform/ports/logger.ts";
import { PermissionDeniedError } from "../platform/ports/object-store.ts";
import { ModelNotFoundError } from "./model-location.ts";
import type { ServedModel } from "./served-model.ts";

export type HolderState =
  | { status: "idle" }
  | { status: "loading"; since: number }
  | { status: "ready"; model: ServedModel }
  | { status: "failed"; error: Error; at: number };

export interface ModelHolderOptions {
  load(): Promise<ServedModel>;
  log: Logger;
  /** After a failed load, requests within this many milliseconds get the failure instead of a new try. */
  retryAfterMs?: number;
  now?: () => number;
  /** Called after every failed load (the first, or one retried later), after it is logged. */
  onFailure?: (error: Error) => void;
}

/**
 * The model folder or the registry is wrong, or this instance's identity may not read them: trying again will not help
 * until someone changes them (on Vertex AI a 403 means MODEL_URI points past the copy in AIP_STORAGE_URI).
 */
export function isSetupError(err: unknown): boolean {
  return (
    err instanceof ModelNotFoundError ||
    err instanceof InvalidModelError ||
    err instanceof PermissionDeniedError
  );
}

export class ModelHolder {
  private current: HolderState = { status: "idle" };
  private loading: Promise<ServedModel> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ModelHolderOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): HolderState {
    return this.current;
  }

  /** The model, loading it first when needed; rejects with the load's error. */
  get(): Promise<ServedModel> {
    const s = this.current;
    if (s.status === "ready") return Promise.resolve(s.model);
    if (this.loading) return this.loading;
    if (s.status === "failed" && this.now() - s.at < (this.options.retryAfterMs ?? 10_000)) {
      return Promise.reject(s.error);
    }
    return this.startLoad();
  }

  /** Starts loading without waiting (the failure, if any, is kept for health checks and callers). */
  start(): void {
    this.get().catch(() => undefined);
  }

  async close(): Promise<void> {
    const model =
      this.current.status === "ready" ? this.current.model : await this.loading?.catch(() => null);
    this.current = { status: "idle" };
    if (model) await model.release();
  }

  private startLoad(): Promise<ServedModel> {
    this.current = { status: "loading", since: this.now() };
    const loading = this.options.load().then(
      (model) => {
        this.current = { status: "ready", model };
        this.loading = null;
        return model;
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.current = { status: "failed", error, at: this.now() };
        this.loading = null;
        this.options.log.error(`the model could not be loaded: ${error.message}`, {
          errorName: error.name,
          setupError: isSetupError(error),
        });
        this.options.onFailure?.(error);
        throw error;
      },
    );
    this.loading = loading;
    return loading;
  }
}
