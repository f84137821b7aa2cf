// Moves a local registry written before model lines (one model, `<root>/<name>/`) into a model per line, once.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LEGACY_MODEL_LINE, ModelLine, defaultModelLine, lineModelId } from "../../schemas/model-line.ts";
import type { Logger } from "../ports/logger.ts";
import { acquireLock } from "./local-object-store.ts";

/** A version as the old layout stored it: `<root>/<name>/versions/NNNNNN.json`. */
export interface LegacyVersion {
  version: string;
  runId: string;
  artifactUri: string;
  [key: string]: unknown;
}

/** The line a legacy version belongs to, or why it cannot be told. */
export type LegacyLineOf = (version: LegacyVersion) => Promise<{ line: string } | { reason: string }>;

/**
 * The default line of a legacy version's model, from the base model its `metadata.json` records (beside the registered
 * artifact). The old layout recorded no label thresholds, so the scheme is the one of `labels` (the config's).
 */
export function lineFromModelMetadata(
  read: (uri: string) => Promise<Buffer>,
  labels: { negativeMax: number; positiveMin: number },
): LegacyLineOf {
  return async (v) => {
    const uri = `${v.artifactUri.replace(/\/+$/, "")}/metadata.json`;
    let text: string;
    try {
      text = (await read(uri)).toString("utf8");
    } catch (err) {
      return { reason: `its model's ${uri} cannot be read: ${(err as Error).message}` };
    }
    let parsed: z.ZodSafeParseResult<{ baseModel: string }>;
    try {
      parsed = z.object({ baseModel: z.string().min(1) }).safeParse(JSON.parse(text));
    } catch {
      return { reason: `its model's ${uri} is not JSON` };
    }
    if (!parsed.success) return { reason: `its model's ${uri} records no baseModel` };
    return { line: defaultModelLine(parsed.data.baseModel, labels) };
  };
}

/** Where migrated old folders are kept, untouched, beside the registry (nothing is deleted). */
export const MIGRATED_FOLDER = ".migrated";

const CHAMPION = "champion";

/**
 * Migrates `<root>/<name>/` (the layout before lines) into `<root>/<name>-<line>/` folders, each version into the line
 * `lineOf` derives for it (LEGACY_MODEL_LINE when it cannot), keeping its number where the line is new and recording
 * where it came from. Each line's champion is the old champion when the line holds it, else its newest version: the one
 * its line would have promoted last. A line that does not exist yet appears whole, by one rename of a folder built
 * beside it; into a line that exists the versions are added under the line's own lock, the alias last.
 *
 * Safe when two processes open the registry at once (a lock serialises them; the second finds nothing left to move)
 * and after a crash (the old folder moves to `.migrated/` only once every line holds its versions; a rerun skips what
 * is there). Returns what moved, or null when there was nothing to migrate.
 */
export async function migrateLegacyRegistry(options: {
  root: string;
  modelName: string;
  lineOf: LegacyLineOf;
  log: Logger;
}): Promise<{ line: string; versions: string[]; champion: string | null }[] | null> {
  const { root, modelName, log } = options;
  const old = join(root, modelName);
  if (!(await exists(join(old, "versions")))) return null;
  await mkdir(root, { recursive: true });
  const release = await acquireLock(join(root, `${modelName}.migration`));
  try {
    // Another process may have finished while this one waited for the lock.
    if (!(await exists(join(old, "versions")))) return null;
    const { versions, unreadable } = await readLegacyVersions(join(old, "versions"));
    for (const u of unreadable)
      log.warn(`registry migration: ${u} is not a version record; left in the kept copy of ${old}`);
    const aliases: Record<string, unknown> = await readJson<Record<string, unknown>>(
      join(old, "aliases.json"),
      {},
    ).catch((err: unknown) => {
      log.warn(
        `registry migration: ${join(old, "aliases.json")} cannot be read (${(err as Error).message}); each line's newest version becomes its champion`,
      );
      return {};
    });
    const oldChampion = typeof aliases[CHAMPION] === "string" ? aliases[CHAMPION] : null;

    const groups = new Map<string, LegacyVersion[]>();
    for (const v of versions) {
      const found = await options.lineOf(v);
      const parsed = "line" in found ? ModelLine.safeParse(found.line) : null;
      const line = parsed?.success ? parsed.data : LEGACY_MODEL_LINE;
      if (line === LEGACY_MODEL_LINE)
        log.warn(
          `registry migration: the line of ${modelName} version ${v.version} (run ${v.runId}) cannot be told (${"reason" in found ? found.reason : `${JSON.stringify(found.line)} is not a model line`}); it goes to line ${LEGACY_MODEL_LINE}`,
        );
      groups.set(line, [...(groups.get(line) ?? []), v]);
    }

    const moved: { line: string; versions: string[]; champion: string | null }[] = [];
    for (const [line, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
      const championOld =
        group.find((v) => v.version === oldChampion)?.version ??
        group.reduce((m, v) => (Number(v.version) > Number(m.version) ? v : m)).version;
      const result = await moveIntoLine(root, modelName, line, group, championOld);
      moved.push({ line, ...result });
      log.info(
        `registry migration: ${modelName} versions ${group.map((v) => v.version).join(", ")} moved into line ${line} (${lineModelId(modelName, line)}) as versions ${result.versions.join(", ")}; champion ${result.champion === null ? "unchanged (the line already had one)" : `version ${result.champion}`}${oldChampion !== null && group.some((v) => v.version === oldChampion) ? ` (the old champion, version ${oldChampion})` : ""}`,
        { modelLine: line },
      );
    }

    // The commit point: once moved aside, the old layout is gone for every process; the copy keeps everything.
    const kept = join(
      root,
      MIGRATED_FOLDER,
      `${modelName}-${new Date().toISOString().replace(/[:.]/g, "-")}`,
    );
    await mkdir(join(root, MIGRATED_FOLDER), { recursive: true });
    await rename(old, kept);
    log.info(
      `registry migration: the layout before model lines is migrated; ${old} is kept, unchanged, as ${kept}`,
    );
    return moved;
  } finally {
    await release();
  }
}

/** Puts one line's legacy versions into its folder; the versions as numbered there, and the champion it set. */
async function moveIntoLine(
  root: string,
  modelName: string,
  line: string,
  group: LegacyVersion[],
  championOld: string,
): Promise<{ versions: string[]; champion: string | null }> {
  const id = lineModelId(modelName, line);
  const dir = join(root, id);
  const record = (v: LegacyVersion, version: string) => ({
    ...v,
    modelResource: `local/models/${id}`,
    line,
    version,
    migratedFrom: { model: modelName, version: v.version },
  });
  if (!(await exists(dir))) {
    const staged = join(root, `.staging-${id}-${randomBytes(4).toString("hex")}`);
    await mkdir(join(staged, "versions"), { recursive: true });
    for (const v of group)
      await writeFile(join(staged, "versions", fileOf(v.version)), json(record(v, v.version)));
    await writeFile(join(staged, "aliases.json"), json({ [CHAMPION]: championOld }));
    try {
      await rename(staged, dir);
      return { versions: group.map((v) => v.version), champion: championOld };
    } catch (err) {
      await rm(staged, { recursive: true, force: true });
      // A registration made the line meanwhile: add to it like any existing line.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  }
  await mkdir(join(dir, "versions"), { recursive: true });
  const release = await acquireLock(join(dir, "registry"));
  try {
    const { versions: present } = await readLegacyVersions(join(dir, "versions"));
    let next = present.reduce((m, v) => Math.max(m, Number(v.version)), 0);
    const numbers = new Map<string, string>();
    for (const v of group) {
      // Already there: moved by an interrupted migration, or the same model registered again since.
      const same = present.find(
        (p) =>
          (isFrom(p, modelName, v.version) && p.runId === v.runId) ||
          (p.runId === v.runId && p.artifactUri === v.artifactUri),
      );
      if (same) {
        numbers.set(v.version, same.version);
        continue;
      }
      const version = String(++next);
      await writeAtomic(join(dir, "versions", fileOf(version)), record(v, version));
      numbers.set(v.version, version);
    }
    const aliases = await readJson<Record<string, string>>(join(dir, "aliases.json"), {});
    let champion: string | null = null;
    if (!aliases[CHAMPION]) {
      champion = numbers.get(championOld) ?? null;
      if (champion !== null)
        await writeAtomic(join(dir, "aliases.json"), { ...aliases, [CHAMPION]: champion });
    }
    return { versions: group.map((v) => numbers.get(v.version)!), champion };
  } finally {
    await release();
  }
}

function isFrom(v: LegacyVersion, modelName: string, version: string): boolean {
  const from = v.migratedFrom as { model?: unknown; version?: unknown } | undefined;
  return from?.model === modelName && from.version === version;
}

async function readLegacyVersions(dir: string): Promise<{ versions: LegacyVersion[]; unreadable: string[] }> {
  const versions: LegacyVersion[] = [];
  const unreadable: string[] = [];
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /^\d+\.json$/.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { versions, unreadable };
    throw err;
  }
  for (const f of files) {
    const v = await readJson<unknown>(join(dir, f), null).catch(() => null);
    const ok =
      typeof v === "object" &&
      v !== null &&
      typeof (v as LegacyVersion).version === "string" &&
      /^\d+$/.test((v as LegacyVersion).version) &&
      typeof (v as LegacyVersion).runId === "string" &&
      typeof (v as LegacyVersion).artifactUri === "string";
    if (ok) versions.push(v as LegacyVersion);
    else unreadable.push(join(dir, f));
  }
  return { versions, unreadable };
}

const fileOf = (version: string) => `${version.padStart(6, "0")}.json`;
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function writeAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, json(value));
  await rename(tmp, file);
}

async function readJson<T>(file: string, missing: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return missing;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
