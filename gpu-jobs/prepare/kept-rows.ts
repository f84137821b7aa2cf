// What splitting and scaling need of each kept row, in growable typed arrays (under 50 bytes a row), so that
// memory stays small while the rows themselves wait on disk.

class Column<A extends Float64Array | Uint8Array | Uint32Array> {
  data: A;
  constructor(private readonly make: (n: number) => A) {
    this.data = make(1024);
  }
  set(i: number, v: number): void {
    if (i >= this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[i] = v;
  }
  /** A view of the first n values. */
  view(n: number): A {
    return this.data.subarray(0, n) as A;
  }
}

/** Interns the values of one slice column: rows hold small ids. */
export class SliceDictionary {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  idOf(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }
}

export interface KeptRow {
  /** Line of the upload the row starts on. */
  line: number;
  labelId: number;
  key: number;
  timestamp: number | null;
  price: number | null;
  helpfulVote: number | null;
  verifiedPurchase: boolean | null;
  /** One value per slice column, in the configured order. */
  slices: string[];
}

export class KeptRows {
  count = 0;
  private readonly line = new Column((n) => new Uint32Array(n));
  private readonly labelId = new Column((n) => new Uint8Array(n));
  private readonly key = new Column((n) => new Float64Array(n));
  private readonly timestamp = new Column((n) => new Float64Array(n));
  private readonly price = new Column((n) => new Float64Array(n));
  private readonly helpful = new Column((n) => new Float64Array(n));
  private readonly verified = new Column((n) => new Uint8Array(n));
  private readonly sliceIds: Column<Uint32Array>[];
  readonly dictionaries: SliceDictionary[];

  constructor(readonly sliceColumns: readonly string[]) {
    this.sliceIds = sliceColumns.map(() => new Column((n) => new Uint32Array(n)));
    this.dictionaries = sliceColumns.map(() => new SliceDictionary());
  }

  add(row: KeptRow): number {
    const i = this.count;
    this.line.set(i, row.line);
    this.labelId.set(i, row.labelId);
    this.key.set(i, row.key);
    this.timestamp.set(i, row.timestamp ?? Number.NaN);
    this.price.set(i, row.price ?? Number.NaN);
    this.helpful.set(i, row.helpfulVote ?? Number.NaN);
    // 0 false, 1 true, 2 missing: the feature treats missing as 0, the flag keeps the difference for stats.
    this.verified.set(i, row.verifiedPurchase === null ? 2 : row.verifiedPurchase ? 1 : 0);
    row.slices.forEach((v, c) => this.sliceIds[c]!.set(i, this.dictionaries[c]!.idOf(v)));
    this.count += 1;
    return i;
  }

  get lines(): Uint32Array {
    return this.line.view(this.count);
  }
  get labels(): Uint8Array {
    return this.labelId.view(this.count);
  }
  get keys(): Float64Array {
    return this.key.view(this.count);
  }
  /** NaN where the row has no timestamp. */
  get timestamps(): Float64Array {
    return this.timestamp.view(this.count);
  }
  /** NaN where the row has no price. */
  get prices(): Float64Array {
    return this.price.view(this.count);
  }
  /** NaN where the row has no helpful_vote. */
  get helpfulVotes(): Float64Array {
    return this.helpful.view(this.count);
  }
  /** 0 false, 1 true, 2 missing. */
  get verifiedFlags(): Uint8Array {
    return this.verified.view(this.count);
  }
  sliceIdsOf(column: number): Uint32Array {
    return this.sliceIds[column]!.view(this.count);
  }
}
