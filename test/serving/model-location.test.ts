// Finding and caching the served model: MODEL_URI as a model folder, a train attempt, a run folder (newest trained
// model), a gs:// folder (copied to the local cache once), or the registry's champion.
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { locateModel, ModelNotFoundError, type LocateDeps } from "../../serving/model-location.ts";
import { cacheModelFolder, servedFiles } from "../../serving/model-cache.ts";
import { cgroupCpuLimit, servingThreads } from "../../serving/cpu-budget.ts";
import { MemoryRegistry } from "../support/fakes.ts";
import { placeModel, runFolder, scratchDir } from "./support.ts";

const INT8 = "model.int8.onnx";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function scratch(): string {
  const d = scratchDir();
  dirs.push(d);
  return d;
}

function deps(store?: LocalObjectStore, registry = new MemoryRegistry()): LocateDeps {
  return {
    store: () => {
      if (!store) throw new Error("no store in this test");
      return store;
    },
    registry: () => registry,
    modelLine: LINE,
  };
}

const LINE = "minilm-3class";

const metrics = { accuracy: 0.8, weightedF1: 0.8, macroF1: 0.7 };

describe("locateModel", () => {
  it("serves a model folder as it is", async () => {
    const root = scratch();
    const model = placeModel(join(root, "m"), "r", 1);
    expect(await locateModel(model, INT8, deps())).toEqual({ folder: model, registryVersion: null });
  });

  it("takes the newest complete train attempt of a local run folder", async () => {
    const root = scratch();
    const run = runFolder(root, "r1", [1, 2, 10]);
    expect((await locateModel(run, INT8, deps())).folder).toBe(join(run, "train", "a10", "model"));
    // An attempt whose export did not finish is passed over.
    rmSync(join(run, "train", "a10", "model", INT8));
    expect((await locateModel(run, INT8, deps())).folder).toBe(join(run, "train", "a2", "model"));
  });

  it("takes a train attempt folder's model", async () => {
    const root = scratch();
    const run = runFolder(root, "r1", [3]);
    const attempt = join(run, "train", "a3");
    expect((await locateModel(attempt, INT8, deps())).folder).toBe(join(attempt, "model"));
  });

  it("finds the newest trained model of a gs:// run folder through the object store", async () => {
    const root = scratch();
    const store = new LocalObjectStore("bkt", join(root, "bucket"));
    runFolder(join(root, "bucket"), "r2", [1, 2]);
    const found = await locateModel("gs://bkt/runs/r2/", INT8, deps(store));
    expect(found.folder).toBe("gs://bkt/runs/r2/train/a2/model");
  });

  it("serves the registry's champion and reports its version", async () => {
    const root = scratch();
    const store = new LocalObjectStore("bkt", join(root, "bucket"));
    runFolder(join(root, "bucket"), "r3", [1]);
    const registry = new MemoryRegistry();
    await registry.registerChampion({
      line: LINE,
      runId: "r0",
      attempt: 1,
      artifactUri: "gs://bkt/runs/r0/x",
      metrics,
    });
    // Another line's newer champion is not this line's.
    await registry.registerChampion({
      line: "tiny-3class",
      runId: "r9",
      attempt: 1,
      artifactUri: "gs://bkt/runs/r9/train/a1/model",
      metrics,
    });
    await registry.registerChampion({
      line: LINE,
      runId: "r3",
      attempt: 1,
      artifactUri: "gs://bkt/runs/r3/train/a1/model/",
      metrics,
    });
    expect(await locateModel("champion", INT8, deps(store, registry))).toEqual({
      folder: "gs://bkt/runs/r3/train/a1/model",
      registryVersion: "2",
    });
  });

  it("says so when the registry has no champion yet", async () => {
    await expect(locateModel("champion", INT8, deps())).rejects.toThrow(
      /model line minilm-3class has no champion yet.*set MODEL_URI/,
    );
  });

  it("names the location when it holds no usable model", async () => {
    const root = scratch();
    await expect(locateModel(join(root, "nothing"), INT8, deps())).rejects.toThrow(/does not exist/);
    const run = runFolder(root, "r4", [1]);
    rmSync(join(run, "train", "a1", "model", "metadata.json"));
    const err = await locateModel(run, INT8, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toMatch(/no train attempt \(a1\) holds a complete model/);
  });
});

describe("cacheModelFolder", () => {
  it("copies only the served files once and reuses them while the objects are unchanged", async () => {
    const root = scratch();
    const store = new LocalObjectStore("bkt", join(root, "bucket"));
    placeModel(join(root, "bucket", "m"), "r", 1);
    const cacheRoot = join(root, "cache");
    const first = await cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), cacheRoot);
    expect(first.downloaded).toBe(true);
    expect(readdirSync(first.dir).sort()).toEqual(
      [".complete", "labels.json", "metadata.json", INT8, "tokenizer.json"].sort(),
    );
    const again = await cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), cacheRoot);
    expect(again).toEqual({ dir: first.dir, downloaded: false });
    // A new generation of a file (a model replaced in place) is a new cache entry.
    await store.write("gs://bkt/m/labels.json", '["NEGATIVE","NEUTRAL","POSITIVE"]');
    const changed = await cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), cacheRoot);
    expect(changed.downloaded).toBe(true);
    expect(changed.dir).not.toBe(first.dir);
  });

  it("does not use a copy that was interrupted", async () => {
    const root = scratch();
    const store = new LocalObjectStore("bkt", join(root, "bucket"));
    placeModel(join(root, "bucket", "m"), "r", 1);
    const cacheRoot = join(root, "cache");
    const first = await cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), cacheRoot);
    rmSync(join(first.dir, ".complete"));
    writeFileSync(join(first.dir, INT8), "truncated");
    const again = await cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), cacheRoot);
    expect(again.downloaded).toBe(true);
    expect(existsSync(join(again.dir, ".complete"))).toBe(true);
  });

  it("names a file the folder lacks", async () => {
    const root = scratch();
    const store = new LocalObjectStore("bkt", join(root, "bucket"));
    placeModel(join(root, "bucket", "m"), "r", 1);
    rmSync(join(root, "bucket", "m", "tokenizer.json"));
    await expect(cacheModelFolder(store, "gs://bkt/m", servedFiles(INT8), join(root, "c"))).rejects.toThrow(
      "model folder gs://bkt/m has no tokenizer.json",
    );
  });
});

describe("servingThreads", () => {
  const files = (map: Record<string, string>) => (path: string) => {
    const v = map[path];
    if (v === undefined) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
    return v;
  };

  it("reads the cgroup v2 quota, and v1 when v2 is absent", () => {
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "200000 100000\n" }))).toBe(2);
    expect(cgroupCpuLimit(files({ "/sys/fs/cgroup/cpu.max": "max 100000\n" }))).toBeNull();
    expect(
      cgroupCpuLimit(
        files({
          "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "150000",
          "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
        }),
      ),
    ).toBe(1.5);
    expect(cgroupCpuLimit(files({}))).toBeNull();
  });

  it("gives one single-threaded worker per usable CPU, capped by the quota, and keeps configured numbers", () => {
    const quota = (cpus: number) => files({ "/sys/fs/cgroup/cpu.max": `${cpus * 100000} 100000` });
    expect(servingThreads({}, files({ "/sys/fs/cgroup/cpu.max": "50000 100000" }))).toEqual({
      workers: 1,
      threads: 1,
    });
    const cores = availableParallelism();
    expect(servingThreads({}, quota(1000))).toEqual({ workers: cores, threads: 1 });
    expect(servingThreads({ workers: 0 }, quota(1))).toEqual({ workers: 0, threads: 1 });
    expect(servingThreads({ workers: 0, threads: 7 }, quota(1))).toEqual({ workers: 0, threads: 7 });
    expect(servingThreads({ workers: 3, threads: 2 }, quota(1))).toEqual({ workers: 3, threads: 2 });
  });
});
