// Loading a model folder: golden logits, padding that changes nothing, and every mismatch refused by name.
import { afterEach, describe, expect, it } from "vitest";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import {
  InvalidModelError,
  InvalidReviewError,
  inspectOnnx,
  loadModel,
  predict,
  type LoadedModel,
} from "../../gpu-jobs/inference/index.ts";
import { ModelCopy, TINY_MODEL, golden } from "./model-fixture.ts";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const loaded: LoadedModel[] = [];
const copies: ModelCopy[] = [];
afterEach(async () => {
  await Promise.all(loaded.splice(0).map((m) => m.release()));
  copies.splice(0).forEach((c) => c.dispose());
});

async function load(...args: Parameters<typeof loadModel>): Promise<LoadedModel> {
  const model = await loadModel(...args);
  loaded.push(model);
  return model;
}
function copy(): ModelCopy {
  const c = new ModelCopy();
  copies.push(c);
  return c;
}

describe("loadModel and predict on the golden tiny model", () => {
  it.each([
    ["model.onnx", false, "logits"],
    ["model.int8.onnx", true, "logitsInt8"],
  ] as const)("reproduces the logits numpy computed for %s", async (_, quantized, key) => {
    const g = golden();
    const model = await load(TINY_MODEL, { quantized, provider: "cpu", threads: 1 });
    const predictions = await predict(model, g.examples, { batchSize: 4 });
    predictions.forEach((p, i) => {
      const want = g.examples[i]![key];
      p.logits.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
      expect(p.labelId).toBe(want.indexOf(Math.max(...want)));
      expect(p.label).toBe(model.labels[p.labelId]);
      expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    });
  });

  it("tokenizes title + ' ' + text exactly as Python tokenizers did, truncating at the max length", async () => {
    const g = golden();
    const model = await load(TINY_MODEL, { provider: "cpu" });
    const ids = await model.tokenizer.encode(g.examples.map((e) => `${e.title} ${e.text}`));
    expect(ids.map((a) => [...a])).toEqual(g.examples.map((e) => e.ids));
    expect(Math.max(...ids.map((a) => a.length))).toBe(g.maxLength);
  });

  it("gives the same logits whatever the batch size, because padding is masked", async () => {
    const g = golden();
    const model = await load(TINY_MODEL, { provider: "cpu" });
    const one = await predict(model, g.examples, { batchSize: 1 });
    const all = await predict(model, g.examples, { batchSize: 64 });
    const three = await predict(model, g.examples, { batchSize: 3 });
    for (const other of [all, three])
      other.forEach((p, i) => p.logits.forEach((v, j) => expect(v).toBeCloseTo(one[i]!.logits[j]!, 6)));
  });

  it("reads the folder from the object store by gs:// URI", async () => {
    const c = copy();
    const store = new LocalObjectStore("test-bucket", join(c.root, "bucket"));
    for (const f of readdirSync(TINY_MODEL))
      await store.write(`gs://test-bucket/runs/r1/train/a1/model/${f}`, readFileSync(join(TINY_MODEL, f)));
    const model = await load({ store, uri: "gs://test-bucket/runs/r1/train/a1/model/" }, { provider: "cpu" });
    expect(model.uri).toBe("gs://test-bucket/runs/r1/train/a1/model");
    expect(model.metadata.maxLength).toBe(golden().maxLength);
  });

  it("reports the embedding table the ids index, in the float and the int8 graph", () => {
    for (const f of ["model.onnx", "model.int8.onnx"]) {
      expect(inspectOnnx(readFileSync(join(TINY_MODEL, f)), f).embeddingRows).toBe(golden().vocabSize);
    }
  });

  it("runs on the CPU with the threads asked for, saying why not CUDA", async () => {
    const model = await load(TINY_MODEL, { threads: 1 });
    expect(model.threads).toBe(1);
    if (model.provider === "cpu") expect(model.fallbackReason).toMatch(/CUDA/);
  });

  it("refuses reviews without side features when the model takes them", async () => {
    const model = await load(TINY_MODEL, { provider: "cpu" });
    await expect(predict(model, [{ title: "a", text: "great" }])).rejects.toThrow(InvalidReviewError);
    await expect(predict(model, [{ title: "a", text: "great", features: [0, 1] }])).rejects.toThrow(
      /4 scaled side features/,
    );
  });
});

describe("loadModel refuses a folder whose parts do not fit", () => {
  const refuses = async (c: ModelCopy, pattern: RegExp, options = {}) => {
    const err = await loadModel(c.dir, { provider: "cpu", ...options }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as Error).message).toMatch(pattern);
  };

  it("names a missing file", async () => {
    const c = copy();
    c.remove("tokenizer.json");
    await refuses(c, /has no tokenizer\.json/);
    const d = copy();
    d.remove("model.int8.onnx");
    await refuses(d, /has no model\.int8\.onnx/, { quantized: true });
  });

  it("names the first missing file in a fixed order, whichever read fails first", async () => {
    // An empty folder in a store whose metadata.json read fails last: the error still names metadata.json.
    const store = new LocalObjectStore("local-bucket", copy().dir);
    const slowMetadata = {
      bucket: store.bucket,
      read: async (uri: string) => {
        if (uri.endsWith("/metadata.json")) await new Promise((r) => setTimeout(r, 50));
        return store.read(uri);
      },
    } as unknown as typeof store;
    const err = await loadModel(
      { store: slowMetadata, uri: "gs://local-bucket/none" },
      { provider: "cpu" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidModelError);
    expect((err as Error).message).toMatch(/has no metadata\.json/);
  });

  it("names a corrupt ONNX file", async () => {
    const c = copy();
    c.write("model.onnx", Buffer.from("this is not a protobuf at all, just text"));
    await refuses(c, /model\.onnx is not a valid ONNX model/);
  });

  it("names a truncated ONNX file", async () => {
    const c = copy();
    const bytes = c.read("model.onnx");
    c.write("model.onnx", bytes.subarray(0, Math.floor(bytes.length / 2)));
    await refuses(c, /model\.onnx (is not a valid ONNX model|cannot be loaded)/);
  });

  it("refuses a tokenizer with more tokens than the model's embedding rows", async () => {
    const c = copy();
    c.editJson("tokenizer.json", (t) => {
      const vocab = (t.model as { vocab: Record<string, number> }).vocab;
      for (let i = 0; i < 50; i += 1) vocab[`extra${i}`] = Object.keys(vocab).length;
    });
    const rows = golden().vocabSize;
    await refuses(
      c,
      new RegExp(
        `tokenizer\\.json has ${rows + 50} tokens but model\\.onnx's embedding table has ${rows} rows`,
      ),
    );
  });

  it("refuses a tokenizer that truncates at another length than the metadata says", async () => {
    const c = copy();
    c.editJson("tokenizer.json", (t) => void ((t.truncation as { max_length: number }).max_length = 32));
    await refuses(c, /truncates at 32 tokens but metadata\.json says maxLength 24/);
  });

  it("refuses a tokenizer that does not truncate", async () => {
    const c = copy();
    c.editJson("tokenizer.json", (t) => void (t.truncation = null));
    await refuses(c, /sets no truncation length/);
  });

  it("refuses metadata whose inputs are not the session's", async () => {
    const c = copy();
    c.editJson("metadata.json", (m) => ({ ...m, inputs: ["input_ids", "attention_mask"], features: null }));
    await refuses(
      c,
      /takes inputs \[input_ids, attention_mask, features\] but metadata\.json lists \[input_ids, attention_mask\]/,
    );
  });

  it("refuses metadata that lists a features input without feature statistics", async () => {
    const c = copy();
    c.editJson("metadata.json", (m) => ({ ...m, features: null }));
    await refuses(c, /lists a features input but has no feature statistics/);
  });

  it("refuses labels in another order", async () => {
    const c = copy();
    c.write("labels.json", JSON.stringify(["POSITIVE", "NEUTRAL", "NEGATIVE"]));
    await refuses(c, /labels\.json does not match its schema/);
  });

  it("refuses metadata that is not JSON", async () => {
    const c = copy();
    c.write("metadata.json", "{ not json");
    await refuses(c, /metadata\.json is not valid JSON/);
  });
});
