// Reading and writing by location: gs:// URIs go through the object store port, anything else is a local path.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { ObjectStore } from "../../platform/ports/object-store.ts";

export interface DataIo {
  read(location: string): Readable;
  /** A buffered writer of text; the object or file appears complete once `close` resolves. */
  writer(location: string, contentType?: string): TextWriter;
  writeText(location: string, text: string, contentType?: string): Promise<void>;
}

export function isGcsUri(location: string): boolean {
  return location.startsWith("gs://");
}

/** `dir` joined with a file name, for URIs and paths alike. */
export function joinLocation(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

/** Routes gs:// URIs to the store (when given) and other locations to the local file system. */
export function makeDataIo(store: ObjectStore | null): DataIo {
  const needStore = (location: string): ObjectStore => {
    if (!store) throw new Error(`${location}: no object store configured for gs:// locations`);
    return store;
  };
  return {
    read: (location) =>
      isGcsUri(location) ? needStore(location).createReadStream(location) : createReadStream(location),
    writer: (location, contentType = "application/x-ndjson") =>
      new TextWriter(
        isGcsUri(location)
          ? Promise.resolve(needStore(location).createWriteStream(location, { contentType }))
          : localStream(location),
      ),
    writeText: async (location, text, contentType = "application/json") => {
      if (isGcsUri(location)) {
        await needStore(location).write(location, text, { contentType });
        return;
      }
      await mkdir(dirname(location), { recursive: true });
      const tmp = `${location}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, location);
    },
  };
}

/** A stream to write to; a local file also knows how to move into place or clean up. */
type Sink = Writable & { commit?: () => Promise<void>; abort?: () => Promise<void> };

/** A local file written under a temporary name and renamed into place when the stream finishes. */
async function localStream(path: string): Promise<Sink> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const stream = createWriteStream(tmp) as Sink;
  stream.commit = () => rename(tmp, path);
  stream.abort = () => rm(tmp, { force: true });
  return stream;
}

const FLUSH_CHARS = 1 << 20;

/**
 * Collects strings and hands them to the stream in ~1 MB writes. `write` is synchronous so hot loops stay cheap;
 * callers await `flushIfFull` now and then, which honours the stream's backpressure.
 */
export class TextWriter {
  private parts: string[] = [];
  private size = 0;
  private error: Error | null = null;
  private closed = false;

  constructor(private readonly opening: Promise<Sink>) {
    opening.then(
      (s) => {
        s.on("error", (err: Error) => (this.error ??= err));
      },
      (err: Error) => (this.error ??= err),
    );
  }

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
  }

  get full(): boolean {
    return this.size >= FLUSH_CHARS;
  }

  async flushIfFull(): Promise<void> {
    if (this.full) await this.flush();
  }

  async flush(): Promise<void> {
    const stream = await this.opening;
    if (this.error) throw this.error;
    if (this.size === 0) return;
    const chunk = this.parts.join("");
    this.parts = [];
    this.size = 0;
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          stream.off("error", onError);
          resolve();
        };
        const onError = (err: Error): void => {
          stream.off("drain", onDrain);
          reject(err);
        };
        stream.once("drain", onDrain);
        stream.once("error", onError);
      });
    }
  }

  /** Writes what is left and waits until the data is stored. */
  async close(): Promise<void> {
    await this.flush();
    const stream = await this.opening;
    await new Promise<void>((resolve, reject) => {
      stream.once("error", reject);
      // A file stream has released its descriptor at 'close'; other streams are done at 'finish'.
      stream.once(stream.commit ? "close" : "finish", () => resolve());
      stream.end();
    });
    if (this.error) throw this.error;
    await stream.commit?.();
    this.closed = true;
  }

  /** Gives up: nothing appears at the location. */
  async abort(): Promise<void> {
    if (this.closed) return;
    const stream = await this.opening.catch(() => null);
    if (!stream) return;
    // A file stream opens its file asynchronously: wait until it is closed, or the removal could run before the open
    // creates the file and leave it behind.
    const ended = finished(stream).catch(() => undefined);
    stream.destroy();
    await ended;
    await stream.abort?.();
  }
}
