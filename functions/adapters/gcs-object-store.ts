// The object store over Cloud Storage (or its emulator, through apiEndpoint), with generation preconditions.
import { Storage, type File } from "@google-cloud/storage";
import type { Readable, Writable } from "node:stream";
import { parseGcsUri } from "../../schemas/names.ts";
import {
  NotFoundError,
  PreconditionFailedError,
  type ObjectStat,
  type ObjectStore,
  type WriteOptions,
} from "../ports/object-store.ts";

export interface GcsObjectStoreOptions {
  bucket: string;
  projectId?: string;
  /** The emulator's URL, e.g. http://127.0.0.1:4443; STORAGE_EMULATOR_HOST builds wrong paths, so pass it here. */
  apiEndpoint?: string;
  storage?: Storage;
}

export class GcsObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly storage: Storage;

  constructor(options: GcsObjectStoreOptions) {
    this.bucket = options.bucket;
    this.storage =
      options.storage ??
      new Storage({
        ...(options.projectId ? { projectId: options.projectId } : {}),
        ...(options.apiEndpoint
          ? { apiEndpoint: options.apiEndpoint, useAuthWithCustomEndpoint: false }
          : {}),
      });
  }

  private file(uri: string): File {
    const { bucket, name } = parseGcsUri(uri);
    return this.storage.bucket(bucket).file(name);
  }

  async read(uri: string): Promise<Buffer> {
    try {
      const [data] = await this.file(uri).download();
      return data;
    } catch (err) {
      throw mapError(err, uri);
    }
  }

  async write(uri: string, data: Buffer | string, options: WriteOptions = {}): Promise<ObjectStat> {
    const file = this.file(uri);
    try {
      await file.save(typeof data === "string" ? Buffer.from(data) : data, {
        resumable: false,
        contentType: options.contentType ?? "application/octet-stream",
        ...(options.ifGenerationMatch !== undefined
          ? { preconditionOpts: { ifGenerationMatch: Number(options.ifGenerationMatch) } }
          : {}),
      });
    } catch (err) {
      throw mapError(err, uri);
    }
    const stat = await this.stat(uri);
    if (!stat) throw new NotFoundError(`object vanished right after writing: ${uri}`);
    return stat;
  }

  async stat(uri: string): Promise<ObjectStat | null> {
    try {
      const [meta] = await this.file(uri).getMetadata();
      return {
        uri,
        generation: String(meta.generation),
        size: Number(meta.size ?? 0),
        updated: String(meta.updated ?? new Date(0).toISOString()),
      };
    } catch (err) {
      const mapped = mapError(err, uri);
      if (mapped instanceof NotFoundError) return null;
      throw mapped;
    }
  }

  async list(prefixUri: string): Promise<string[]> {
    const { bucket, name } = parseGcsUri(prefixUri);
    const [files] = await this.storage.bucket(bucket).getFiles({ prefix: name, autoPaginate: true });
    return files.map((f) => `gs://${bucket}/${f.name}`).sort();
  }

  async delete(uri: string): Promise<void> {
    await this.file(uri).delete({ ignoreNotFound: true });
  }

  createReadStream(uri: string): Readable {
    return this.file(uri).createReadStream({ validation: false });
  }

  createWriteStream(uri: string, options: { contentType?: string } = {}): Writable {
    return this.file(uri).createWriteStream({
      resumable: false,
      validation: false,
      contentType: options.contentType ?? "application/octet-stream",
    });
  }
}

function mapError(err: unknown, uri: string): Error {
  const code = (err as { code?: number }).code;
  if (code === 404) return new NotFoundError(`no such object: ${uri}`);
  if (code === 412) return new PreconditionFailedError(`${uri}: generation precondition failed`);
  return err instanceof Error ? err : new Error(String(err));
}
