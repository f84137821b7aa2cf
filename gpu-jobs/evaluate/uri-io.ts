// Reads and writes run files by gs:// URI through the object store, or by plain local path.
import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import type { ObjectStore } from "../../platform/ports/object-store.ts";

export function isGcsUri(location: string): boolean {
  return location.startsWith("gs://");
}

/** `<dir>/<name>` for a folder URI or a local folder. */
export function child(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}

export function readBytes(store: ObjectStore, location: string): Promise<Buffer> {
  return isGcsUri(location) ? store.read(location) : readFile(location);
}

export function openRead(store: ObjectStore, location: string): Readable {
  return isGcsUri(location) ? store.createReadStream(location) : createReadStream(location);
}

export async function writeText(
  store: ObjectStore,
  location: string,
  text: string,
  contentType: string,
): Promise<void> {
  if (isGcsUri(location)) {
    await store.write(location, text, { contentType });
    return;
  }
  await mkdir(dirname(location), { recursive: true });
  await writeFile(location, text);
}

/** Whether a read failed because the file or object does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT" || (err as Error).name === "NotFoundError";
}
