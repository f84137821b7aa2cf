// Reads a request body for the container server, within two bounds: the body's own size limit (413), and a budget of
// bytes that all bodies being read or served may hold together (503), so that many large bodies at once cannot take
// the process's memory, while slow bodies that hold little hold none of the budget they have not used.
import type { IncomingMessage } from "node:http";

/** Bytes of request bodies the server holds at once, across requests. */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`the body budget must be a positive integer, got ${limit}`);
  }

  /** Takes `n` bytes of the budget; false (nothing taken) when they are not left. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  get held(): number {
    return this.used;
  }
}

export type BodyResult =
  /** The whole body; `release` gives its bytes back to the budget once the answer is sent. */
  | { kind: "body"; bytes: Buffer; release(): void }
  /** Over the size limit: 413. `drained` says whether the rest was read (the connection can be reused). */
  | { kind: "too-large"; drained: boolean }
  /** The budget could not hold it: 503, the rest unread. */
  | { kind: "over-budget" };

/** Bodies larger than this many times the limit are not even drained: the connection is dropped. */
const DRAIN_FACTOR = 8;

/**
 * Reads `req`'s body, taking its bytes from the budget as they arrive. Rejects when the client goes away mid-body (the
 * budget is given back).
 */
export function readBody(req: IncomingMessage, limit: number, budget: ByteBudget): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? NaN);
    const known = Number.isFinite(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    let taken = 0;
    let over = known && declared > limit;
    const detach = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const finish = (v: BodyResult): void => {
      detach();
      if (v.kind !== "body") {
        budget.give(taken);
        taken = 0;
      }
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (!over && size > limit) over = true;
      if (over) {
        chunks.length = 0;
        budget.give(taken);
        taken = 0;
        if (size > limit * DRAIN_FACTOR) {
          req.pause();
          finish({ kind: "too-large", drained: false });
        }
        return;
      }
      if (!budget.take(chunk.length)) {
        req.pause();
        finish({ kind: "over-budget" });
        return;
      }
      taken += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (over) return finish({ kind: "too-large", drained: true });
      const bytes = Buffer.concat(chunks, size);
      let released = false;
      finish({
        kind: "body",
        bytes,
        release: () => {
          if (released) return;
          released = true;
          budget.give(size);
        },
      });
    };
    const onError = (err: Error): void => {
      detach();
      budget.give(taken);
      taken = 0;
      reject(err);
    };
    const onClose = (): void => {
      if (!req.complete) onError(new Error("the client closed the connection mid-body"));
    };
    if (over && declared > limit * DRAIN_FACTOR) return finish({ kind: "too-large", drained: false });
    // A declared length the budget cannot hold now is refused before reading; nothing is reserved, so a slow body
    // holds only the bytes it has sent.
    if (known && !over && budget.held + declared > budget.limit) return finish({ kind: "over-budget" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}
