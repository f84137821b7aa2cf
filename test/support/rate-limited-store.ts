// Test support: an object store that refuses a second write of one name within a second, as Cloud Storage answers 429.
import type { Readable, Writable } from "node:stream";
import { RateLimitedError } from "../../platform/gcp/gcs-object-store.ts";
import type { ObjectStat, ObjectStore, WriteOptions } from "../../platform/ports/object-store.ts";

export class RateLimitedStore implements ObjectStore {
  readonly bucket: string;
  /** Successful writes per URI, and every refused one. */
  readonly writes = new Map<string, number>();
  readonly refused: string[] = [];
  private readonly last = new Map<string, number>();

  constructor(
    private readonly inner: ObjectStore,
    private readonly windowMs = 1000,
  ) {
    this.bucket = inner.bucket;
  }

  async write(uri: string, data: Buffer | string, options?: WriteOptions): Promise<ObjectStat> {
    const last = this.last.get(uri);
    if (last !== undefined && Date.now() - last < this.windowMs) {
      this.refused.push(uri);
      throw new RateLimitedError(`${uri}: 429 rateLimitExceeded (one write per second per object name)`);
    }
    const stat = await this.inner.write(uri, data, options);
    this.last.set(uri, Date.now());
    this.writes.set(uri, (this.writes.get(uri) ?? 0) + 1);
    return stat;
  }

  read(uri: string): Promise<Buffer> {
    return this.inner.read(uri);
  }
  stat(uri: string): Promise<ObjectStat | null> {
    return this.inner.stat(uri);
  }
  list(prefixUri: string): Promise<string[]> {
    return this.inner.list(prefixUri);
  }
  delete(uri: string): Promise<void> {
    return this.inner.delete(uri);
  }
  createReadStream(uri: string): Readable {
    return this.inner.createReadStream(uri);
  }
  createWriteStream(uri: string, options?: { contentType?: string }): Writable {
    return this.inner.createWriteStream(uri, options);
  }
}
