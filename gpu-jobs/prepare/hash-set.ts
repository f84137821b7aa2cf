// A set of 96-bit hashes in flat typed arrays: dedupe over millions of rows at 12 bytes a slot, not a string each.

export class Hash96Set {
  private table: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialSlots = 1 << 16) {
    let slots = 1;
    while (slots < initialSlots) slots <<= 1;
    this.table = new Uint32Array(slots * 3);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the hash; false when it was already there. */
  add(h: Uint32Array): boolean {
    // All-zero marks an empty slot, so a hash of all zeros is stored with one bit set.
    const a = h[0]!;
    const b = h[1]!;
    const c = (h[2]! | (a === 0 && b === 0 ? 1 : 0)) >>> 0;
    let i = (a ^ Math.imul(b, 0x9e3779b1)) & this.mask;
    const t = this.table;
    for (;;) {
      const j = i * 3;
      const x = t[j]!;
      const y = t[j + 1]!;
      const z = t[j + 2]!;
      if (x === 0 && y === 0 && z === 0) break;
      if (x === a && y === b && z === c) return false;
      i = (i + 1) & this.mask;
    }
    const j = i * 3;
    t[j] = a;
    t[j + 1] = b;
    t[j + 2] = c;
    this.count += 1;
    if (this.count * 2 > this.mask + 1) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.table;
    const slots = (this.mask + 1) * 2;
    this.table = new Uint32Array(slots * 3);
    this.mask = slots - 1;
    this.count = 0;
    const h = new Uint32Array(3);
    for (let j = 0; j < old.length; j += 3) {
      if (old[j] === 0 && old[j + 1] === 0 && old[j + 2] === 0) continue;
      h[0] = old[j]!;
      h[1] = old[j + 1]!;
      h[2] = old[j + 2]!;
      this.add(h);
    }
  }
}
