// The model registry as a local folder: a model per model line (`<root>/<name>-<line>/`), numbered versions and a champion alias, like Vertex's.
// A folder written before lines (`<root>/<name>/`) is migrated into lines when the registry is first used.
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { ModelRegistry, ModelVersion, RegisterRequest, Registration } from "../ports/model-registry.ts";
import { lineModelId } from "../../schemas/model-line.ts";
import { acquireLock } from "./local-object-store.ts";
import { migrateLegacyRegistry, type LegacyLineOf } from "./legacy-registry-migration.ts";
import type { Logger } from "../ports/logger.ts";
import { JsonLogger } from "../json-logger.ts";

export interface LocalModelRegistryOptions {
  /** The line of a version registered before lines; without it, every such version goes to the legacy line. */
  legacyLineOf?: LegacyLineOf;
  log?: Logger;
}

interface StoredVersion extends Omit<ModelVersion, "aliases"> {
  attempt: number;
  labels: Record<string, string>;
}

export const CHAMPION_ALIAS = "champion";

export class LocalModelRegistry implements ModelRegistry {
  readonly root: string;
  private opening: Promise<void> | null = null;

  constructor(
    root: string,
    readonly modelName: string,
    private readonly options: LocalModelRegistryOptions = {},
  ) {
    this.root = resolve(root);
  }

  /** Migrates a registry written before lines, once per instance, before anything reads or writes it. */
  open(): Promise<void> {
    this.opening ??= migrateLegacyRegistry({
      root: this.root,
      modelName: this.modelName,
      lineOf:
        this.options.legacyLineOf ??
        (() => Promise.resolve({ reason: "no way to read the versions' models was given" })),
      log: (this.options.log ?? new JsonLogger()).child({ component: "local-registry" }),
    }).then(
      () => undefined,
      (err: unknown) => {
        // Not remembered: the next call tries again (the migration is safe to rerun).
        this.opening = null;
        throw new Error(`migrating the local registry ${this.root}: ${(err as Error).message}`, {
          cause: err,
        });
      },
    );
    return this.opening;
  }

  /** The folder of a line's model: the same id the Vertex registry gives it. */
  dir(line: string): string {
    return join(this.root, lineModelId(this.modelName, line));
  }

  async registerChampion(request: RegisterRequest): Promise<Registration> {
    await this.open();
    const dir = this.dir(request.line);
    await mkdir(join(dir, "versions"), { recursive: true });
    const release = await acquireLock(join(dir, "registry"));
    try {
      const versions = await this.readVersions(request.line);
      let stored = versions.find((v) => v.runId === request.runId && v.artifactUri === request.artifactUri);
      // The same registration attempt resuming (a redelivery) made the version; an earlier attempt's means a no-op.
      const created = !stored || stored.attempt === request.attempt;
      if (!stored) {
        const next = versions.reduce((m, v) => Math.max(m, Number(v.version)), 0) + 1;
        stored = {
          modelResource: `local/models/${lineModelId(this.modelName, request.line)}`,
          line: request.line,
          version: String(next),
          artifactUri: request.artifactUri,
          runId: request.runId,
          attempt: request.attempt,
          metrics: request.metrics,
          labels: request.labels ?? {},
          createdAt: new Date().toISOString(),
        };
        await writeAtomic(join(dir, "versions", `${String(next).padStart(6, "0")}.json`), stored);
      }
      await writeAtomic(join(dir, "aliases.json"), { [CHAMPION_ALIAS]: stored.version });
      return { ...strip(stored, request.line), aliases: [CHAMPION_ALIAS], created };
    } finally {
      await release();
    }
  }

  async getChampion(line: string): Promise<ModelVersion | null> {
    await this.open();
    const aliases = await this.readAliases(line);
    const version = aliases[CHAMPION_ALIAS];
    if (!version) return null;
    return (await this.listVersions(line)).find((v) => v.version === version) ?? null;
  }

  async listVersions(line: string): Promise<ModelVersion[]> {
    await this.open();
    const aliases = await this.readAliases(line);
    return (await this.readVersions(line)).map((v) => ({
      ...strip(v, line),
      aliases: Object.entries(aliases)
        .filter(([, ver]) => ver === v.version)
        .map(([a]) => a),
    }));
  }

  private async readVersions(line: string): Promise<StoredVersion[]> {
    const dir = join(this.dir(line), "versions");
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    return Promise.all(
      files.map(async (f) => JSON.parse(await readFile(join(dir, f), "utf8")) as StoredVersion),
    );
  }

  private async readAliases(line: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(join(this.dir(line), "aliases.json"), "utf8")) as Record<
        string,
        string
      >;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw err;
    }
  }
}

function strip(v: StoredVersion, line: string): Omit<ModelVersion, "aliases"> {
  return {
    modelResource: v.modelResource,
    line,
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
