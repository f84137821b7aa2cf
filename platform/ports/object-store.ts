// The object store port: bucket objects addressed by gs:// URIs, with generations for compare-and-swap.
import type { Readable, Writable } from "node:stream";

export interface ObjectStat {
  uri: string;
  /** Changes on every write; a string because Cloud Storage generations exceed 2^53. */
  generation: string;
  size: number;
  updated: string;
  /** The object's custom metadata (`x-goog-meta-*`), when it has any. */
  metadata?: Record<string, string>;
}

export interface WriteOptions {
  contentType?: string;
  /** Write only if the object's generation is this one ("0": only if it does not exist). */
  ifGenerationMatch?: string;
  /** Custom metadata to set on the object (`x-goog-meta-*`); an upload names its model line here. */
  metadata?: Record<string, string>;
}

/** The precondition of a conditional write did not hold: someone else wrote first. */
export class PreconditionFailedError extends Error {
  override readonly name = "PreconditionFailedError";
}

/** The object does not exist. */
export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

/**
 * The caller's identity may not do this (HTTP 401/403): a setup error that retrying will not fix. `identity` names who
 * was refused (a service account email, or what is known of the credentials).
 */
export class PermissionDeniedError extends Error {
  override readonly name = "PermissionDeniedError";
  constructor(
    message: string,
    readonly identity: string,
  ) {
    super(message);
  }
}

export interface ObjectStore {
  readonly bucket: string;
  read(uri: string): Promise<Buffer>;
  write(uri: string, data: Buffer | string, options?: WriteOptions): Promise<ObjectStat>;
  stat(uri: string): Promise<ObjectStat | null>;
  /** URIs of the objects under a prefix URI, sorted. */
  list(prefixUri: string): Promise<string[]>;
  delete(uri: string): Promise<void>;
  createReadStream(uri: string): Readable;
  /** A stream whose 'finish' means the object is written. */
  createWriteStream(
    uri: string,
    options?: { contentType?: string; metadata?: Record<string, string> },
  ): Writable;
}
