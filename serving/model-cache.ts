// Copies the files of a gs:// model folder to the local disk once, keyed by their generations, so that a restarted
// server on the same disk (or a second server beside it) loads from the cache instead of the bucket.
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import { ModelNotFoundError } from "./model-location.ts";

const COMPLETE = ".complete";

/** The files the server needs from a model folder: metadata, labels, tokenizer and the one ONNX file it serves. */
export function servedFiles(onnxFile: string): string[] {
  return ["metadata.json", "labels.json", "tokenizer.json", onnxFile];
}

/**
 * Returns a local folder holding `files` of the gs:// folder. A folder already cached for the same objects (same
 * generations) is reused; otherwise the files are downloaded into a temporary folder renamed into place at the end,
 * so a half-written cache is never used.
 */
export async function cacheModelFolder(
  store: ObjectStore,
  folderUri: string,
  files: readonly string[],
  cacheRoot: string,
): Promise<{ dir: string; downloaded: boolean }> {
  const stats = await Promise.all(
    files.map(async (f) => {
      const stat = await store.stat(`${folderUri}/${f}`);
      if (!stat) throw new ModelNotFoundError(`model folder ${folderUri} has no ${f}`);
      return stat;
    }),
  );
  const key = createHash("sha256")
    .update(folderUri)
    .update(stats.map((s) => `\0${s.uri}\0${s.generation}\0${s.size}`).join(""))
    .digest("hex")
    .slice(0, 24);
  const dir = join(cacheRoot, key);
  if (existsSync(join(dir, COMPLETE))) return { dir, downloaded: false };

  await mkdir(cacheRoot, { recursive: true });
  const tmp = join(cacheRoot, `.${key}.${randomBytes(4).toString("hex")}.tmp`);
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) {
      await pipeline(store.createReadStream(`${folderUri}/${f}`), createWriteStream(join(tmp, f)));
    }
    await writeFile(join(tmp, COMPLETE), JSON.stringify({ folderUri, files, at: new Date().toISOString() }));
    // A folder without the marker is a leftover of an interrupted copy.
    if (!existsSync(join(dir, COMPLETE))) await rm(dir, { recursive: true, force: true });
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another process cached the same folder first: use its copy.
      if (!existsSync(join(dir, COMPLETE))) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, downloaded: true };
}
