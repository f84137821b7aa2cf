// The bound on prediction requests a server holds at once: a request enters before its body is read and leaves once
// answered; past the bound it is refused at once (503 with Retry-After), so memory and waiting time stay bounded.

export class PendingGate {
  private pending = 0;
  private shed = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`maxPending must be a positive integer, got ${limit}`);
  }

  /** Takes a place; false when every place is taken (the caller answers 503). */
  enter(): boolean {
    if (this.pending >= this.limit) {
      this.shed += 1;
      return false;
    }
    this.pending += 1;
    return true;
  }

  leave(): void {
    if (this.pending === 0) throw new Error("PendingGate.leave without enter");
    this.pending -= 1;
  }

  /** Requests held now, and refused since the start. */
  get stats(): { pending: number; shed: number } {
    return { pending: this.pending, shed: this.shed };
  }
}
