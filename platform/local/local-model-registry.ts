// The model registry as a local folder: numbered versions of one model and a champion alias, like Vertex's.
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { ModelRegistry, ModelVersion, RegisterRequest } from "../ports/model-registry.ts";
import { acquireLock } from "./local-object-store.ts";

interface StoredVersion extends Omit<ModelVersion, "aliases"> {
  attempt: number;
  labels: Record<string, string>;
}

export const CHAMPION_ALIAS = "champion";

export class LocalModelRegistry implements ModelRegistry {
  readonly dir: string;

  constructor(
    root: string,
    readonly modelName: string,
  ) {
    this.dir = resolve(root, modelName);
  }

  async registerChampion(request: RegisterRequest): Promise<ModelVersion> {
    await mkdir(join(this.dir, "versions"), { recursive: true });
    const release = await acquireLock(join(this.dir, "registry"));
    try {
      const versions = await this.readVersions();
      let stored = versions.find((v) => v.runId === request.runId && v.attempt === request.attempt);
      if (!stored) {
        const next = versions.reduce((m, v) => Math.max(m, Number(v.version)), 0) + 1;
        stored = {
          modelResource: `local/models/${this.modelName}`,
          version: String(next),
          artifactUri: request.artifactUri,
          runId: request.runId,
          attempt: request.attempt,
          metrics: request.metrics,
          labels: request.labels ?? {},
          createdAt: new Date().toISOString(),
        };
        await writeAtomic(join(this.dir, "versions", `${String(next).padStart(6, "0")}.json`), stored);
      }
      await writeAtomic(join(this.dir, "aliases.json"), { [CHAMPION_ALIAS]: stored.version });
      return { ...strip(stored), aliases: [CHAMPION_ALIAS] };
    } finally {
      await release();
    }
  }

  async getChampion(): Promise<ModelVersion | null> {
    const aliases = await this.readAliases();
    const version = aliases[CHAMPION_ALIAS];
    if (!version) return null;
    return (await this.listVersions()).find((v) => v.version === version) ?? null;
  }

  async listVersions(): Promise<ModelVersion[]> {
    const aliases = await this.readAliases();
    return (await this.readVersions()).map((v) => ({
      ...strip(v),
      aliases: Object.entries(aliases)
        .filter(([, ver]) => ver === v.version)
        .map(([a]) => a),
    }));
  }

  private async readVersions(): Promise<StoredVersion[]> {
    let files: string[];
    try {
      files = (await readdir(join(this.dir, "versions"))).filter((f) => f.endsWith(".json")).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    return Promise.all(
      files.map(
        async (f) => JSON.parse(await readFile(join(this.dir, "versions", f), "utf8")) as StoredVersion,
      ),
    );
  }

  private async readAliases(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(join(this.dir, "aliases.json"), "utf8")) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
  }
}

function strip(v: StoredVersion): Omit<ModelVersion, "aliases"> {
  return {
    modelResource: v.modelResource,
    version: v.version,
    artifactUri: v.artifactUri,
    runId: v.runId,
    metrics: v.metrics,
    createdAt: v.createdAt,
  };
}

async function writeAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}
