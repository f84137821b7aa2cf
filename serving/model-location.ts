// Where the served model is: MODEL_URI names the registry's champion, a model folder, a train attempt folder or a run
// folder (its newest trained model), on gs:// or on the local disk.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ModelRegistry } from "../platform/ports/model-registry.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";

/** MODEL_URI does not lead to a usable model folder (or the registry has no champion): a setup problem. */
export class ModelNotFoundError extends Error {
  override readonly name = "ModelNotFoundError";
}

export const CHAMPION = "champion";

export interface ModelLocation {
  /** The model folder: a gs:// URI or an absolute local path. */
  folder: string;
  /** The registry's version when MODEL_URI is `champion`. */
  registryVersion: string | null;
}

export interface LocateDeps {
  /** The object store for gs:// locations (asked for only when one is used). */
  store(): ObjectStore;
  /** The model registry (asked for only for `champion`). */
  registry(): ModelRegistry;
  /** The model line whose champion `champion` names. */
  modelLine: string;
}

/** Finds the model folder MODEL_URI names; `onnxFile` is the ONNX file that must be there (int8 or fp32). */
export async function locateModel(
  modelUri: string,
  onnxFile: string,
  deps: LocateDeps,
): Promise<ModelLocation> {
  if (modelUri === CHAMPION) {
    const champion = await deps.registry().getChampion(deps.modelLine);
    if (!champion) {
      throw new ModelNotFoundError(
        `MODEL_URI is champion but model line ${deps.modelLine} has no champion yet: promote a run of that line, set MODEL_LINE to another line, or set MODEL_URI to a run or model folder`,
      );
    }
    if (!champion.artifactUri) {
      throw new ModelNotFoundError(
        `the registry's champion (version ${champion.version}) has no artifact URI`,
      );
    }
    const found = await locateFolder(champion.artifactUri, onnxFile, deps);
    return { folder: found, registryVersion: champion.version };
  }
  return { folder: await locateFolder(modelUri, onnxFile, deps), registryVersion: null };
}

interface Folders {
  has(folder: string, file: string): Promise<boolean>;
  /** Attempt numbers N of `<trainDir>/aN/` that hold something. */
  attempts(trainDir: string): Promise<number[]>;
}

async function locateFolder(location: string, onnxFile: string, deps: LocateDeps): Promise<string> {
  const gs = location.startsWith("gs://");
  const base = gs ? location.replace(/\/+$/, "") : resolve(location);
  const folders = gs ? gcsFolders(deps.store()) : localFolders;
  const join2 = (a: string, b: string): string => (gs ? `${a}/${b}` : join(a, b));
  const complete = async (folder: string): Promise<boolean> =>
    (await folders.has(folder, "metadata.json")) && (await folders.has(folder, onnxFile));

  if (await complete(base)) return base;
  if (await complete(join2(base, "model"))) return join2(base, "model");
  const trainDir = join2(base, "train");
  const attempts = (await folders.attempts(trainDir)).sort((a, b) => b - a);
  for (const n of attempts) {
    const folder = join2(join2(trainDir, `a${n}`), "model");
    if (await complete(folder)) return folder;
  }
  if (!gs && !existsSync(base)) throw new ModelNotFoundError(`MODEL_URI ${location} does not exist`);
  throw new ModelNotFoundError(
    attempts.length > 0
      ? `MODEL_URI ${location}: no train attempt (${attempts.map((n) => `a${n}`).join(", ")}) holds a complete model (metadata.json and ${onnxFile})`
      : `MODEL_URI ${location} is not a model folder (metadata.json and ${onnxFile}), a train attempt folder or a run folder with a trained model`,
  );
}

const ATTEMPT = /^a(\d+)$/;

const localFolders: Folders = {
  has: (folder, file) => Promise.resolve(existsSync(join(folder, file))),
  async attempts(trainDir) {
    try {
      const entries = await readdir(trainDir, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && ATTEMPT.test(e.name))
        .map((e) => Number(e.name.slice(1)));
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === "ENOENT" ||
        (err as NodeJS.ErrnoException).code === "ENOTDIR"
      )
        return [];
      throw err;
    }
  },
};

function gcsFolders(store: ObjectStore): Folders {
  return {
    has: async (folder, file) => (await store.stat(`${folder}/${file}`)) !== null,
    async attempts(trainDir) {
      const prefix = `${trainDir}/`;
      const found = new Set<number>();
      for (const uri of await store.list(prefix)) {
        const m = ATTEMPT.exec(uri.slice(prefix.length).split("/")[0] ?? "");
        if (m) found.add(Number(m[1]));
      }
      return [...found];
    },
  };
}
