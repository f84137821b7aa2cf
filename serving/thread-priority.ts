// Lowers the CPU priority of the calling thread (Linux: a thread has its own nice value), so that inference worker
// threads give way to the main thread, which answers health checks and reads requests, whenever both want a core.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

export type PriorityOutcome = { ok: true; tid: number; nice: number } | { ok: false; reason: string };

/**
 * Sets the calling thread's nice value to `nice` (0 to 19: raising it needs no privilege). The thread's id comes from
 * /proc/thread-self ("PID/task/TID"); setpriority(2) with PRIO_PROCESS and a thread id applies to that thread alone,
 * and threads it creates afterwards (onnxruntime's intra-op pool) inherit it. Elsewhere than Linux it says why not.
 */
export function niceThisThread(nice: number): PriorityOutcome {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19)
    return { ok: false, reason: `nice must be an integer from 0 to 19, got ${nice}` };
  let tid: number;
  try {
    const parts = readlinkSync("/proc/thread-self").split("/");
    tid = Number(parts[2]);
    if (parts[1] !== "task" || !Number.isInteger(tid) || tid < 1)
      return { ok: false, reason: `/proc/thread-self reads an unexpected "${parts.join("/")}"` };
  } catch (err) {
    return { ok: false, reason: `no /proc/thread-self (not Linux?): ${(err as Error).message}` };
  }
  try {
    setPriority(tid, nice);
    return { ok: true, tid, nice };
  } catch (err) {
    return { ok: false, reason: `setpriority(${tid}, ${nice}) failed: ${(err as Error).message}` };
  }
}
