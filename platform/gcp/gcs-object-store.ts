// The object store over Cloud Storage (or its emulator, through apiEndpoint), with generation preconditions.
import { Storage, type File } from "@google-cloud/storage";
import type { Readable, Writable } from "node:stream";
import { parseGcsUri } from "../../schemas/names.ts";
import {
  NotFoundError,
  PermissionDeniedError,
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
  /** Backoff retries of a write Cloud Storage refused with 429 or 503 (after the client's own); default 6. */
  rateLimitRetries?: number;
  /**
   * Who the client acts as, for a refusal's message; default: the credentials' service account email (from the key
   * file, or the metadata server on Google Cloud).
   */
  identity?: () => Promise<string | null>;
}

/** Cloud Storage refused the request for its rate (429) or was briefly unavailable (503): back off and retry. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class GcsObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly storage: Storage;
  private readonly rateLimitRetries: number;
  private readonly identity: () => Promise<string | null>;

  constructor(options: GcsObjectStoreOptions) {
    this.bucket = options.bucket;
    this.rateLimitRetries = options.rateLimitRetries ?? 6;
    this.identity = options.identity ?? (() => credentialsEmail(this.storage));
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
      throw await this.mapError(err, uri);
    }
  }

  async write(uri: string, data: Buffer | string, options: WriteOptions = {}): Promise<ObjectStat> {
    const file = this.file(uri);
    const body = typeof data === "string" ? Buffer.from(data) : data;
    await this.withBackoff(uri, () =>
      file.save(body, {
        resumable: false,
        contentType: options.contentType ?? "application/octet-stream",
        // The object resource's `metadata` field holds the custom metadata.
        ...(options.metadata ? { metadata: { metadata: options.metadata } } : {}),
        ...(options.ifGenerationMatch !== undefined
          ? { preconditionOpts: { ifGenerationMatch: Number(options.ifGenerationMatch) } }
          : {}),
      }),
    );
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
        ...(meta.metadata && Object.keys(meta.metadata).length > 0
          ? {
              metadata: Object.fromEntries(
                Object.entries(meta.metadata).flatMap(([k, v]) => (v == null ? [] : [[k, String(v)]])),
              ),
            }
          : {}),
      };
    } catch (err) {
      const mapped = await this.mapError(err, uri);
      if (mapped instanceof NotFoundError) return null;
      throw mapped;
    }
  }

  async list(prefixUri: string): Promise<string[]> {
    const { bucket, name } = parseGcsUri(prefixUri);
    try {
      const [files] = await this.storage.bucket(bucket).getFiles({ prefix: name, autoPaginate: true });
      return files.map((f) => `gs://${bucket}/${f.name}`).sort();
    } catch (err) {
      throw await this.mapError(err, prefixUri);
    }
  }

  async delete(uri: string): Promise<void> {
    await this.withBackoff(uri, () => this.file(uri).delete({ ignoreNotFound: true }));
  }

  /**
   * Runs a mutation, retrying with exponential backoff and jitter while Cloud Storage answers 429 or 503: one
   * object name takes about one mutation (create, update or delete) a second, and Google asks for backoff.
   */
  private async withBackoff(uri: string, mutate: () => Promise<unknown>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mutate();
        return;
      } catch (err) {
        const mapped = await this.mapError(err, uri);
        if (!(mapped instanceof RateLimitedError) || attempt >= this.rateLimitRetries) throw mapped;
        await sleep(Math.min(32_000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  createReadStream(uri: string): Readable {
    return this.file(uri).createReadStream({ validation: false });
  }

  createWriteStream(
    uri: string,
    options: { contentType?: string; metadata?: Record<string, string> } = {},
  ): Writable {
    return this.file(uri).createWriteStream({
      resumable: false,
      validation: false,
      contentType: options.contentType ?? "application/octet-stream",
      ...(options.metadata ? { metadata: { metadata: options.metadata } } : {}),
    });
  }

  private async mapError(err: unknown, uri: string): Promise<Error> {
    const code = (err as { code?: number }).code;
    if (code === 404) return new NotFoundError(`no such object: ${uri}`);
    if (code === 412) return new PreconditionFailedError(`${uri}: generation precondition failed`);
    if (code === 401 || code === 403) return this.denied(err, uri);
    if (code === 429 || code === 503)
      return new RateLimitedError(`${uri}: ${(err as Error).message || `HTTP ${code}`}`);
    return err instanceof Error ? err : new Error(String(err));
  }

  /** A refusal names who was refused: Cloud Storage's message usually does; else the credentials are asked. */
  private async denied(err: unknown, uri: string): Promise<PermissionDeniedError> {
    const reason = err instanceof Error ? err.message : String(err);
    const named = /([\w.+-]+@[\w.-]+)\s+does not have\s+(\S+)\s+access/.exec(reason);
    let identity = named?.[1] ?? null;
    if (identity === null) {
      try {
        identity = await withTimeout(this.identity(), IDENTITY_TIMEOUT_MS);
      } catch (e) {
        identity = `unknown (the credentials did not say: ${(e as Error).message})`;
      }
    }
    identity ??= "unknown (the credentials carry no service account email)";
    const permission = named?.[2] ?? /Permission '([\w.]+)'/.exec(reason)?.[1];
    return new PermissionDeniedError(
      `${identity} was refused access to ${uri}${permission ? ` (${permission})` : ""}: ${reason}`,
      identity,
    );
  }
}

/** How long a refusal's message waits for the metadata server to say who we are. */
const IDENTITY_TIMEOUT_MS = 3000;

/** The service account email of the client's credentials: a key file's client_email, else the metadata server's. */
async function credentialsEmail(storage: Storage): Promise<string | null> {
  const credentials = await storage.authClient.getCredentials();
  return credentials.client_email ?? null;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
