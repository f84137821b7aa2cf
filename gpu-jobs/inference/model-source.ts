// Where a model folder lives: a local directory, or a gs:// folder read through the object store.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NotFoundError, type ObjectStore } from "../../platform/ports/object-store.ts";
import { InvalidModelError } from "./model-errors.ts";

/** A local folder path, or a folder URI with the store that holds it. */
export type ModelSource = string | { store: ObjectStore; uri: string };

/** Printable location of the folder, for messages and reports. */
export function sourceUri(source: ModelSource): string {
  return typeof source === "string" ? source : source.uri.replace(/\/+$/, "");
}

/** Reads one file of the folder; a missing file is an InvalidModelError, other failures pass through. */
export async function readModelFile(source: ModelSource, name: string): Promise<Buffer> {
  if (typeof source === "string") {
    if (source.startsWith("gs://"))
      throw new Error(`model folder ${source} is a gs:// URI: pass { store, uri } to read it`);
    try {
      return await readFile(join(source, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new InvalidModelError(`model folder ${source} has no ${name}`);
      }
      throw err;
    }
  }
  const uri = `${sourceUri(source)}/${name}`;
  try {
    return await source.store.read(uri);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new InvalidModelError(`model folder ${sourceUri(source)} has no ${name}`);
    throw err;
  }
}
