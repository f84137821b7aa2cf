// A local registry written before model lines (one model folder) is migrated into a model per line when it is opened:
// the old champion stays its line's champion, nothing is lost, and a rerun or a second process changes nothing.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createEmbeddedAdapters } from "../../platform/composition-root.ts";
import { MIGRATED_FOLDER } from "../../platform/local/legacy-registry-migration.ts";
import { LEGACY_MODEL_LINE } from "../../schemas/model-line.ts";
import { parseConfig } from "../../schemas/load-config.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";

const NAME = "sentiment-classifier";
const OPEN_REGISTRY = join(import.meta.dirname, "../support/open-registry.ts");
const metrics = (f1: number) => ({ accuracy: f1, weightedF1: f1, macroF1: f1 - 0.05 });

interface Old {
  version: number;
  runId: string;
  /** The base model its metadata.json records; null: the model folder is gone. */
  baseModel: string | null;
  f1: number;
}

/**
 * A registry folder in the layout before lines, as that code wrote it (git 8d347f8, platform/local/
 * local-model-registry.ts): `<root>/<name>/versions/NNNNNN.json` and `aliases.json`, each version's model in the bucket.
 */
function oldLayout(versions: Old[], champion: number) {
  const root = mkdtempSync(join(tmpdir(), "sp-reg-migrate-"));
  const config = parseConfig({ runtime: { mode: "embedded", localRoot: root } });
  const dir = join(root, "registry", NAME);
  mkdirSync(join(dir, "versions"), { recursive: true });
  for (const v of versions) {
    const artifactUri = `gs://${config.runtime.bucket}/runs/${v.runId}/train/a1/model`;
    writeFileSync(
      join(dir, "versions", `${String(v.version).padStart(6, "0")}.json`),
      `${JSON.stringify(
        {
          modelResource: `local/models/${NAME}`,
          version: String(v.version),
          artifactUri,
          runId: v.runId,
          attempt: 1,
          metrics: metrics(v.f1),
          labels: { run_id: v.runId, attempt: "1" },
          createdAt: `2026-0${v.version}-01T00:00:00.000Z`,
        },
        null,
        2,
      )}\n`,
    );
    if (v.baseModel !== null) {
      const model = join(root, "bucket", "runs", v.runId, "train", "a1", "model");
      mkdirSync(model, { recursive: true });
      writeFileSync(
        join(model, "metadata.json"),
        JSON.stringify({ formatVersion: 1, runId: v.runId, family: "bert", baseModel: v.baseModel }),
      );
    }
  }
  writeFileSync(join(dir, "aliases.json"), JSON.stringify({ champion: String(champion) }));
  return { root, config, dir };
}

function open(config: ReturnType<typeof parseConfig>) {
  const log = new CapturingLogger();
  return { registry: createEmbeddedAdapters(config, log).registry, log };
}

const history: Old[] = [
  { version: 1, runId: "tiny-run-1", baseModel: "tiny", f1: 0.7 },
  { version: 2, runId: "minilm-run-2", baseModel: "minilm", f1: 0.88 },
  { version: 3, runId: "tiny-run-3", baseModel: "tiny", f1: 0.72 },
  { version: 4, runId: "gone-run-4", baseModel: null, f1: 0.6 },
];

const summary = async (registry: ReturnType<typeof open>["registry"], line: string) =>
  (await registry.listVersions(line)).map((v) => [v.version, v.runId, v.aliases.join(",")]);

describe("migrating a local registry written before model lines", () => {
  it("moves each version into the line of its model's base model, keeping the old champion its line's champion", async () => {
    const { root, config, dir } = oldLayout(history, 2);
    const original = readFileSync(join(dir, "versions", "000002.json"), "utf8");
    const { registry, log } = open(config);

    expect(await registry.getChampion("minilm-3class")).toMatchObject({
      version: "2",
      runId: "minilm-run-2",
      metrics: metrics(0.88),
      modelResource: `local/models/${NAME}-minilm-3class`,
    });
    expect(await summary(registry, "minilm-3class")).toEqual([["2", "minilm-run-2", "champion"]]);
    // A line the old champion was not in: its newest version, the one it would have promoted last.
    expect(await summary(registry, "tiny-3class")).toEqual([
      ["1", "tiny-run-1", ""],
      ["3", "tiny-run-3", "champion"],
    ]);
    // A model whose folder is gone cannot tell its line: it is kept, in a line named for it.
    expect(await summary(registry, LEGACY_MODEL_LINE)).toEqual([["4", "gone-run-4", "champion"]]);

    // Nothing lost: the old folder is kept, unchanged, beside the registry; it no longer reads as a registry.
    expect(existsSync(dir)).toBe(false);
    const kept = readdirSync(join(root, "registry", MIGRATED_FOLDER));
    expect(kept).toHaveLength(1);
    expect(
      readFileSync(join(root, "registry", MIGRATED_FOLDER, kept[0]!, "versions", "000002.json"), "utf8"),
    ).toBe(original);

    const said = log.entries.map((e) => e.message).join("\n");
    expect(said).toContain(
      `registry migration: ${NAME} versions 2 moved into line minilm-3class (${NAME}-minilm-3class) as versions 2; champion version 2 (the old champion, version 2)`,
    );
    expect(said).toContain(`${NAME} versions 1, 3 moved into line tiny-3class`);
    expect(log.at("WARNING").map((e) => e.message)).toEqual([
      expect.stringMatching(
        new RegExp(
          `the line of ${NAME} version 4 \\(run gone-run-4\\) cannot be told \\(its model's .*metadata\\.json cannot be read.*it goes to line ${LEGACY_MODEL_LINE}`,
        ),
      ),
    ]);
  });

  it("still migrates when the old alias file is unreadable, each line's newest version its champion, and says so", async () => {
    const { config, dir } = oldLayout(history, 2);
    writeFileSync(join(dir, "aliases.json"), "{not json");
    const { registry, log } = open(config);
    expect(await summary(registry, "tiny-3class")).toEqual([
      ["1", "tiny-run-1", ""],
      ["3", "tiny-run-3", "champion"],
    ]);
    expect((await registry.getChampion("minilm-3class"))?.version).toBe("2");
    expect(log.at("WARNING").map((e) => e.message)).toContainEqual(
      expect.stringContaining("aliases.json cannot be read"),
    );
  });

  it("changes nothing when opened again, by this process or another", async () => {
    const { root, config } = oldLayout(history, 2);
    await open(config).registry.getChampion("tiny-3class");
    const again = open(config);
    expect(await summary(again.registry, "tiny-3class")).toEqual([
      ["1", "tiny-run-1", ""],
      ["3", "tiny-run-3", "champion"],
    ]);
    expect(again.log.entries).toEqual([]);
    expect(readdirSync(join(root, "registry", MIGRATED_FOLDER))).toHaveLength(1);
  });

  it("migrates once when two registries in one process open it at the same time", async () => {
    const { root, config } = oldLayout(history, 2);
    const [a, b] = [open(config), open(config)];
    const [ca, cb] = await Promise.all([
      a.registry.getChampion("minilm-3class"),
      b.registry.getChampion("minilm-3class"),
    ]);
    expect(ca).toEqual(cb);
    expect(await summary(a.registry, "tiny-3class")).toHaveLength(2);
    expect(readdirSync(join(root, "registry", MIGRATED_FOLDER))).toHaveLength(1);
    // Exactly one of them did the moving.
    const movers = [a, b].filter((x) => x.log.entries.some((e) => e.message.includes("moved into line")));
    expect(movers).toHaveLength(1);
  });

  it("migrates once when two separate processes open it at the same time", async () => {
    const { root, config } = oldLayout(history, 2);
    const opened = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<{ champion: { version: string } | null; log: string[] }>((done, fail) => {
            execFile(
              process.execPath,
              ["--import", "tsx", OPEN_REGISTRY, "minilm-3class"],
              { env: { ...process.env, LOCAL_ROOT: root } },
              (err, stdout) => (err ? fail(new Error(err.message)) : done(JSON.parse(stdout) as never)),
            );
          }),
      ),
    );
    expect(opened.map((o) => o.champion?.version)).toEqual(["2", "2"]);
    expect(opened.filter((o) => o.log.some((l) => l.includes("moved into line")))).toHaveLength(1);
    expect(await summary(open(config).registry, "tiny-3class")).toHaveLength(2);
    expect(readdirSync(join(root, "registry", MIGRATED_FOLDER))).toHaveLength(1);
  });

  it("finishes a migration interrupted before its last step without doubling a version", async () => {
    const { root, config, dir } = oldLayout(history, 2);
    await open(config).registry.getChampion("tiny-3class");
    // As if the process died after filling the lines but before moving the old folder aside.
    const kept = join(root, "registry", MIGRATED_FOLDER);
    cpSync(join(kept, readdirSync(kept)[0]!), dir, { recursive: true });
    rmSync(kept, { recursive: true });
    const { registry } = open(config);
    expect(await summary(registry, "tiny-3class")).toEqual([
      ["1", "tiny-run-1", ""],
      ["3", "tiny-run-3", "champion"],
    ]);
    expect(await summary(registry, "minilm-3class")).toEqual([["2", "minilm-run-2", "champion"]]);
    expect(existsSync(dir)).toBe(false);
  });

  it("adds old versions after those of a line registered since, leaving that line's champion", async () => {
    const { config } = oldLayout(history, 2);
    // A process without the migration registered the first minilm model of the new layout.
    const line = join(config.runtime.localRoot, "registry", `${NAME}-minilm-3class`);
    mkdirSync(join(line, "versions"), { recursive: true });
    for (const n of [1, 2])
      writeFileSync(
        join(line, "versions", `00000${n}.json`),
        JSON.stringify({
          modelResource: `local/models/${NAME}-minilm-3class`,
          line: "minilm-3class",
          version: String(n),
          artifactUri: `gs://local-bucket/runs/new-run-${n}/train/a1/model`,
          runId: `new-run-${n}`,
          attempt: 1,
          metrics: metrics(0.8),
          labels: {},
          createdAt: `2026-12-0${n}T00:00:00.000Z`,
        }),
      );
    writeFileSync(join(line, "aliases.json"), JSON.stringify({ champion: "2" }));
    const { registry, log } = open(config);
    expect(await summary(registry, "minilm-3class")).toEqual([
      ["1", "new-run-1", ""],
      ["2", "new-run-2", "champion"],
      ["3", "minilm-run-2", ""],
    ]);
    expect(log.entries.map((e) => e.message).join("\n")).toContain(
      "versions 2 moved into line minilm-3class (sentiment-classifier-minilm-3class) as versions 3; champion unchanged (the line already had one)",
    );
  });
});
