// Opens an onnxruntime session: the CUDA execution provider when its binaries and a GPU are there, else the CPU.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { InferenceSession } from "onnxruntime-node";
import { InvalidModelError } from "./model-errors.ts";

export type ProviderChoice = "auto" | "cpu" | "cuda";
export type Provider = "cpu" | "cuda";

export interface SessionSettings {
  /** auto (default): CUDA when available, else CPU; cuda: fail without it; cpu: never try CUDA. */
  provider?: ProviderChoice;
  /** Intra-op threads on the CPU; default: the cores this process may use. */
  threads?: number;
  /**
   * Whether idle intra-op threads spin-wait for the next run (onnxruntime's default, true). A server that shares its
   * few cores with HTTP parsing and tokenizing between runs turns it off, so that waiting threads sleep.
   */
  spinWait?: boolean;
}

export interface OpenedSession {
  session: InferenceSession;
  provider: Provider;
  threads: number;
  /** Why CUDA was not used when it was asked for or could have been (null when it was used or not wanted). */
  fallbackReason: string | null;
}

/**
 * The CUDA provider library ships only when onnxruntime-node's install script fetched it (the images that run on
 * GPUs allow it; npm's allowScripts denies it elsewhere), so its presence tells whether trying CUDA makes sense.
 */
export function cudaProviderInstalled(): boolean {
  const require = createRequire(import.meta.url);
  const root = dirname(dirname(require.resolve("onnxruntime-node")));
  return existsSync(
    join(root, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so"),
  );
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export async function openSession(
  bytes: Uint8Array,
  file: string,
  settings: SessionSettings = {},
): Promise<OpenedSession> {
  const choice = settings.provider ?? "auto";
  const threads = settings.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`threads must be a positive integer, got ${threads}`);
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    ...(settings.spinWait === false ? { extra: { session: { intra_op: { allow_spinning: "0" } } } } : {}),
  };
  let fallbackReason: string | null = null;
  if (choice !== "cpu") {
    if (cudaProviderInstalled()) {
      try {
        const session = await InferenceSession.create(bytes, {
          ...base,
          executionProviders: ["cuda", "cpu"],
        });
        return { session, provider: "cuda", threads, fallbackReason: null };
      } catch (err) {
        fallbackReason = `the CUDA provider did not start: ${firstLine((err as Error).message)}`;
      }
    } else {
      fallbackReason = "onnxruntime-node's CUDA provider is not installed";
    }
    if (choice === "cuda") throw new Error(`${file}: CUDA was required but ${fallbackReason}`);
  }
  try {
    const session = await InferenceSession.create(bytes, { ...base, executionProviders: ["cpu"] });
    return { session, provider: "cpu", threads, fallbackReason: choice === "auto" ? fallbackReason : null };
  } catch (err) {
    throw new InvalidModelError(
      `${file} cannot be loaded by onnxruntime: ${firstLine((err as Error).message)}`,
    );
  }
}

function firstLine(s: string): string {
  return (s.split("\n")[0] ?? "").slice(0, 500);
}
