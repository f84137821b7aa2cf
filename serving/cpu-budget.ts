// How many CPUs this process may really use (the cores it may run on, capped by its cgroup's CPU quota: a Cloud Run
// instance with 2 CPUs on a 64-core host must not start 64 onnxruntime threads), and the workers and threads it gets.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

type Read = (path: string) => string;

const readText: Read = (path) => readFileSync(path, "utf8");

/** The cgroup CPU quota in CPUs (cgroup v2 `cpu.max`, else v1 `cfs_quota_us / cfs_period_us`); null when unlimited. */
export function cgroupCpuLimit(read: Read = readText): number | null {
  const v2 = tryRead(read, "/sys/fs/cgroup/cpu.max");
  if (v2 !== null) {
    const [quota, period] = v2.trim().split(/\s+/);
    return quotaOf(quota, period);
  }
  const quota = tryRead(read, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  const period = tryRead(read, "/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  return quota === null || period === null ? null : quotaOf(quota.trim(), period.trim());
}

/** The CPUs this process may use: its cores, capped by its cgroup quota rounded up (at least 1). */
export function usableCpus(read: Read = readText): number {
  const limit = cgroupCpuLimit(read);
  const cores = availableParallelism();
  return Math.max(1, Math.min(cores, limit === null ? cores : Math.ceil(limit)));
}

/**
 * Inference workers and onnxruntime threads per session: as configured, else one worker per usable CPU with one
 * thread each (or, with no workers, every usable CPU for the main thread's session).
 */
export function servingThreads(
  configured: { workers?: number | undefined; threads?: number | undefined },
  read: Read = readText,
): { workers: number; threads: number } {
  const cpus = usableCpus(read);
  const workers = configured.workers ?? cpus;
  const threads = configured.threads ?? (workers > 0 ? Math.max(1, Math.floor(cpus / workers)) : cpus);
  return { workers, threads };
}

function quotaOf(quota: string | undefined, period: string | undefined): number | null {
  const q = Number(quota);
  const p = Number(period);
  if (quota === "max" || !Number.isFinite(q) || q <= 0 || !Number.isFinite(p) || p <= 0) return null;
  return q / p;
}

function tryRead(read: Read, path: string): string | null {
  try {
    return read(path);
  } catch {
    return null;
  }
}
