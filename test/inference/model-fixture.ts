// Copies of the tiny golden model folder that tests may break on purpose, in a temporary directory.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./python-env.ts";

export const TINY_MODEL = join(REPO_ROOT, "test/fixtures/tiny-model");
export const TINY_SPLIT = join(REPO_ROOT, "test/fixtures/tiny-split");

export interface Golden {
  vocabSize: number;
  maxLength: number;
  examples: {
    title: string;
    text: string;
    features: number[];
    ids: number[];
    logits: number[];
    logitsInt8: number[];
  }[];
}

export function golden(): Golden {
  return JSON.parse(readFileSync(join(TINY_MODEL, "golden.json"), "utf8")) as Golden;
}

/** A scratch copy of the tiny model; `edit` rewrites one JSON file of it. */
export class ModelCopy {
  readonly dir: string;

  constructor(readonly root = mkdtempSync(join(tmpdir(), "sp-model-"))) {
    this.dir = join(root, "model");
    cpSync(TINY_MODEL, this.dir, { recursive: true });
  }

  editJson(file: string, edit: (value: Record<string, unknown>) => unknown): void {
    const path = join(this.dir, file);
    const value = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify(edit(value) ?? value));
  }

  write(file: string, data: string | Buffer): void {
    writeFileSync(join(this.dir, file), data);
  }

  read(file: string): Buffer {
    return readFileSync(join(this.dir, file));
  }

  remove(file: string): void {
    rmSync(join(this.dir, file));
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
