// How many CPUs this process may really use: the cores it may run on, capped by its cgroup's CPU quota (a Cloud Run
// instance with 2 CPUs on a 64-core host must not start 64 onnxruntime threads).
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

/** Intra-op threads for the session: the configured number, else the usable CPUs rounded up (at least 1). */
export function servingThreads(configured: number | undefined, read: Read = readText): number {
  if (configured !== undefined) return configured;
  const limit = cgroupCpuLimit(read);
  const cores = availableParallelism();
  return Math.max(1, Math.min(cores, limit === null ? cores : Math.ceil(limit)));
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
