// The committed tiny fixtures are what their script makes: rerun it (trainer venv) and compare every file.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, trainerPython } from "../inference/python-env.ts";

/** Equal JSON, numbers within 1e-9 relative: BLAS kernels may sum float64 products in another order elsewhere. */
function expectClose(actual: unknown, wanted: unknown, path: string): void {
  if (typeof wanted === "number" && typeof actual === "number") {
    expect(Math.abs(actual - wanted), path).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(wanted)));
  } else if (Array.isArray(wanted) && Array.isArray(actual)) {
    expect(actual.length, path).toBe(wanted.length);
    wanted.forEach((w, i) => expectClose(actual[i], w, `${path}[${i}]`));
  } else if (wanted !== null && typeof wanted === "object" && actual !== null && typeof actual === "object") {
    expect(Object.keys(actual).sort(), path).toEqual(Object.keys(wanted).sort());
    for (const [k, w] of Object.entries(wanted))
      expectClose((actual as Record<string, unknown>)[k], w, `${path}.${k}`);
  } else {
    expect(actual, path).toEqual(wanted);
  }
}

describe("tiny fixtures", () => {
  it("are reproduced exactly by test/evaluate/py/make_tiny_fixtures.py", (ctx) => {
    const python = trainerPython();
    if (python.path === null) return ctx.skip(python.skip);
    const out = mkdtempSync(join(tmpdir(), "sp-fixtures-"));
    try {
      execFileSync(python.path, [join(REPO_ROOT, "test/evaluate/py/make_tiny_fixtures.py"), "--out", out], {
        stdio: "pipe",
      });
      for (const folder of ["tiny-model", "tiny-split"]) {
        const committed = join(REPO_ROOT, "test/fixtures", folder);
        expect(readdirSync(join(out, folder)).sort()).toEqual(readdirSync(committed).sort());
        for (const file of readdirSync(committed)) {
          const fresh = readFileSync(join(out, folder, file));
          const kept = readFileSync(join(committed, file));
          if (file.endsWith(".json"))
            expectClose(JSON.parse(fresh.toString("utf8")), JSON.parse(kept.toString("utf8")), file);
          else if (file.endsWith(".jsonl"))
            expect(fresh.toString("utf8").trim(), file).toBe(kept.toString("utf8").trim());
          else expect(fresh.equals(kept), `${file} differs byte for byte`).toBe(true);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
