// The object store as a local folder laid out like the bucket: gs://BUCKET/a/b lives at <root>/a/b.
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { PassThrough, Writable, type Readable } from "node:stream";
import { parseGcsUri } from "../../schemas/names.ts";
import {
  NotFoundError,
  PreconditionFailedError,
  type ObjectStat,
  type ObjectStore,
  type WriteOptions,
} from "../ports/object-store.ts";

export type ObjectListener = (stat: ObjectStat) => void;

export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  private readonly listeners: ObjectListener[] = [];

  constructor(
    readonly bucket: string,
    root: string,
  ) {
    this.root = resolve(root);
    mkdirSync(this.root, { recursive: true });
  }

  /** Called after every completed write, like a bucket's object-finalized notification. */
  onFinalize(listener: ObjectListener): void {
    this.listeners.push(listener);
  }

  /** The file that holds an object. Rejects other buckets and names that would leave the root. */
  pathOf(uri: string): string {
    const { bucket, name } = parseGcsUri(uri);
    if (bucket !== this.bucket)
      throw new Error(`local store holds bucket ${this.bucket}, not ${bucket} (${uri})`);
    const path = resolve(this.root, name);
    if (path !== this.root && !path.startsWith(this.root + sep))
      throw new Error(`object name escapes the bucket: ${uri}`);
    return path;
  }

  uriOf(path: string): string {
    return `gs://${this.bucket}/${relative(this.root, resolve(path)).split(sep).join("/")}`;
  }

  async read(uri: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(uri));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`no such object: ${uri}`);
      throw err;
    }
  }

  async write(uri: string, data: Buffer | string, options: WriteOptions = {}): Promise<ObjectStat> {
    const path = this.pathOf(uri);
    await mkdir(dirname(path), { recursive: true });
    const release = options.ifGenerationMatch !== undefined ? await acquireLock(path) : null;
    try {
      if (options.ifGenerationMatch !== undefined) {
        const current = await this.stat(uri);
        const gen = current?.generation ?? "0";
        if (gen !== options.ifGenerationMatch) {
          throw new PreconditionFailedError(
            `${uri}: generation is ${gen}, expected ${options.ifGenerationMatch}`,
          );
        }
      }
      const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, path);
    } finally {
      await release?.();
    }
    const stat = (await this.stat(uri))!;
    // A folder has nowhere to keep custom metadata: it goes to the finalize notification, as Cloud Storage's payload
    // carries it, and is not kept with the file.
    const result = options.metadata ? { ...stat, metadata: { ...options.metadata } } : stat;
    for (const l of this.listeners) l(result);
    return result;
  }

  async stat(uri: string): Promise<ObjectStat | null> {
    try {
      const s = await stat(this.pathOf(uri), { bigint: true });
      if (!s.isFile()) return null;
      // A rename gives a new inode and ctime, so together they change on every write.
      return {
        uri,
        generation: (s.ctimeNs * 1000n + (s.ino % 1000n)).toString(),
        size: Number(s.size),
        updated: new Date(Number(s.mtimeMs)).toISOString(),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async list(prefixUri: string): Promise<string[]> {
    const { name: prefix } = parseGcsUri(prefixUri);
    const base = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    const dir = join(this.root, base);
    const out: string[] = [];
    const walk = async (d: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(d, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        throw err;
      }
      for (const e of entries) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.endsWith(".tmp")) {
          const name = relative(this.root, p).split(sep).join("/");
          if (name.startsWith(prefix)) out.push(`gs://${this.bucket}/${name}`);
        }
      }
    };
    await walk(dir);
    return out.sort();
  }

  async delete(uri: string): Promise<void> {
    await rm(this.pathOf(uri), { force: true });
  }

  createReadStream(uri: string): Readable {
    const out = new PassThrough();
    const input = createReadStream(this.pathOf(uri));
    input.on("error", (err: NodeJS.ErrnoException) =>
      out.destroy(err.code === "ENOENT" ? new NotFoundError(`no such object: ${uri}`) : err),
    );
    return input.pipe(out);
  }

  createWriteStream(uri: string, options: { metadata?: Record<string, string> } = {}): Writable {
    const path = this.pathOf(uri);
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const file = createWriteStream(tmp);
    const notify = (s: ObjectStat | null): void => {
      const stat = s && options.metadata ? { ...s, metadata: { ...options.metadata } } : s;
      if (stat) for (const l of this.listeners) l(stat);
    };
    // The object appears under its name only once the stream has finished, as in Cloud Storage.
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (file.write(chunk)) cb();
        else file.once("drain", () => cb());
      },
      final: (cb) => {
        file.end(() => {
          rename(tmp, path)
            .then(() => this.stat(uri))
            .then((s) => {
              notify(s);
              cb();
            }, cb);
        });
      },
      destroy(err, cb) {
        file.destroy();
        rm(tmp, { force: true }).then(
          () => cb(err),
          () => cb(err),
        );
      },
    });
    file.on("error", (err) => out.destroy(err));
    return out;
  }
}

/** A lock file next to the object: mkdir is atomic, so only one writer holds it. Stale locks expire. */
export async function acquireLock(path: string, staleMs = 30_000): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  for (let i = 0; ; i++) {
    try {
      await mkdir(lock);
      return () => rmdir(lock).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const s = await stat(lock).catch(() => null);
      if (s && Date.now() - s.mtimeMs > staleMs) await rmdir(lock).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.min(50, 1 + i)));
    }
  }
}
