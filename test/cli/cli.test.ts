// The command line end to end in embedded mode, with scripted jobs standing in for the real ones.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main.ts";
import type { Io } from "../../cli/args.ts";
import type { Terminal } from "../../cli/follow/printers.ts";
import { LocalRunLedger } from "../../platform/local/local-run-ledger.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SCRIPT = join(REPO, "test/support/scripted-job.ts");
const root = mkdtempSync(join(tmpdir(), "sp-cli-"));
const configFile = join(root, "config.json");
const reviews = join(root, "reviews.jsonl");

beforeAll(() => {
  const command = [process.execPath, "--import", "tsx", SCRIPT];
  writeFileSync(
    configFile,
    JSON.stringify({
      runtime: { localRoot: join(root, "local"), localCommands: { trainer: command, jobs: command } },
    }),
  );
  writeFileSync(reviews, '{"rating":5,"title":"great","text":"works"}\n');
});

afterEach(() => {
  delete process.env.SCRIPTED_PLAN;
});

interface Result {
  code: number;
  out: string;
  err: string;
}

function terminal(sink: { text: string }, isTTY = false): Terminal {
  return { write: (t) => void (sink.text += t), isTTY, columns: 120, color: false };
}

/** Runs a command in this process; `plan` scripts the jobs it starts (left as it is when not given). */
async function cli(args: string[], plan?: Record<string, unknown>): Promise<Result> {
  if (plan) process.env.SCRIPTED_PLAN = JSON.stringify(plan);
  const out = { text: "" };
  const err = { text: "" };
  const io: Io = {
    out: terminal(out),
    err: terminal(err),
    env: process.env,
    signal: new AbortController().signal,
  };
  const code = await main([...args, "--config", configFile], io);
  return { code, out: out.text, err: err.text };
}

/** Uploads under a fresh name, so every test has its own run. */
async function runFile(
  name: string,
  plan: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<Result & { runId: string }> {
  const file = join(root, name);
  writeFileSync(file, readFileSync(reviews));
  const r = await cli(["run", file, ...extra], plan);
  const runId = /: run ([a-z0-9-]+)/.exec(r.out + r.err)?.[1] ?? "";
  return { ...r, runId };
}

const LOW_F1 = { overall: { accuracy: 0.5, weightedF1: 0.5, macroF1: 0.4 } };

/** Three runs that several tests read: promoted, below the F1 gate, and an unusable upload. */
let clean: Result & { runId: string };
let low: Result & { runId: string };
let bad: Result & { runId: string };
beforeAll(async () => {
  clean = await runFile("clean.jsonl");
  low = await runFile("low.jsonl", { "evaluate:1": LOW_F1, "evaluate:2": LOW_F1 });
  bad = await runFile("bad.jsonl", { "prepare:1": "reject" });
}, 180_000);

describe("sentiment-pipeline", () => {
  it("runs an upload to its outcome, then says why and where the report is", () => {
    const r = clean;
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(
      /run\.started {11}clean-[0-9a-f]{10} from gs:\/\/local-bucket\/uploads\/clean\.jsonl/,
    );
    expect(r.out).toMatch(/evaluation\.completed {2}a1 {2}test weighted F1 0\.840/);
    expect(r.out).toMatch(/run clean-[0-9a-f]{10}: promoted after/);
    expect(r.out).toContain("why:    passed: weighted F1 0.840 >= 0.600, no biased slice");
    expect(r.out).toMatch(/; registered as version \d+ of line [a-z][a-z0-9-]+ \(champion\)\n/);
    const report = /report: (.+)$/m.exec(r.out)![1]!;
    expect(readFileSync(report, "utf8")).toContain("Promoted: registered as version");
    const log = readFileSync(join(root, "local/bucket/runs", r.runId, "events.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(log.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(
      expect.arrayContaining(["run.started", "data.prepared", "evaluation.completed", "run.completed"]),
    );
  });

  it("exits 3 when the run completes without promotion and 2 when it fails", () => {
    expect(low.code).toBe(3);
    expect(low.out).toMatch(
      // The retune's best trial (validation weighted F1 0.800) is no better than the model trained (0.840).
      /: below_threshold after .*\n {2}why: {4}retune searched 2 trials and found no better parameters: .* no higher than the 0\.840 of the model already trained/,
    );
    expect(bad.code).toBe(2);
    expect(bad.out).toContain("the upload is unusable: 0 valid rows");
  });

  it("prints one JSON object per line with --json, the result last", async () => {
    const r = await runFile("json.jsonl", {}, ["--json"]);
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; event?: { type: string } });
    expect(lines.slice(0, -1).every((l) => l.kind === "event")).toBe(true);
    expect(lines.at(-1)).toMatchObject({ kind: "result", outcome: "promoted", exitCode: 0 });
    expect(r.err).toContain("uploaded");
  });

  it("run --model-line names the run's model line through the upload's metadata; a bad one is refused before uploading", async () => {
    const r = await runFile("books.jsonl", {}, ["--model-line", "books-3class"]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain("registered as version 1 of line books-3class (champion)");
    const state = (await new LocalRunLedger(join(root, "local/bucket")).get(r.runId))!.state;
    expect([state.uploadModelLine, state.modelLine]).toEqual(["books-3class", "books-3class"]);

    const refused = await runFile("refused.jsonl", {}, ["--model-line", "Books 3"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('--model-line "Books 3": a model line is lower-case letters');
    expect(existsSync(join(root, "local/bucket/uploads/refused.jsonl"))).toBe(false);
  });

  it("watch follows a run that another command drives, to the same end", async () => {
    const ledger = new LocalRunLedger(join(root, "local/bucket"));
    const before = new Set(await ledger.list(100));
    const running = runFile("watched.jsonl", { "train:1": "crash" });
    let runId: string | undefined;
    while (!runId) {
      runId = (await ledger.list(100)).find((id) => !before.has(id));
      await new Promise((r) => setTimeout(r, 50));
    }
    const [watched, driven] = await Promise.all([cli(["watch", runId, "--interval", "100"]), running]);
    expect(driven.code).toBe(0);
    expect(watched.code).toBe(0);
    expect(watched.out).toMatch(/job\.failed {12}train a1: sp-watched-[0-9a-f]+-train-a1 exited with code 1/);
    expect(watched.out).toMatch(/run watched-[0-9a-f]{10}: promoted after/);
  });

  it("status shows the steps, the decision trail and the outcome, of the latest run without RUN", async () => {
    const s = await cli(["status", low.runId]);
    expect(s.code).toBe(3);
    expect(s.out).toMatch(/✔ tune {6}a2 {2}succeeded/);
    expect(s.out).toContain("weighted F1 0.500 < f1Min 0.600: retune 1 of 1");
    const latest = JSON.parse((await cli(["status", "--json"])).out) as Record<string, unknown>;
    const newest = (JSON.parse((await cli(["runs", "--json"])).out) as { runId: string }[])[0]!;
    expect(latest.runId).toBe(newest.runId);
    // The shape docs/cli.md gives: the run summary and the state's fields; mlflow is null without a tracking URI.
    expect(Object.keys(latest).sort()).toEqual(
      [
        ...["runId", "status", "outcome", "why", "trail", "took", "idle", "report", "mlflow", "exitCode"],
        ...["createdAt", "updatedAt", "input", "steps", "budgets", "artifacts"],
      ].sort(),
    );
    expect(latest.mlflow).toBeNull();
    expect(Object.keys((latest.steps as object[])[0]!).sort()).toEqual(
      ["step", "status", "attempt", "startedAt", "finishedAt", "progress", "summary", "error"].sort(),
    );
  });

  it("runs lists the recent runs, newest first, with their outcomes", async () => {
    const r = await cli(["runs", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as { runId: string; outcome: string; createdAt: string }[];
    expect(rows.length).toBeGreaterThanOrEqual(3);
    // One JSON array of rows, with the keys docs/cli.md lists.
    expect(r.out.trim().split("\n")).toHaveLength(1);
    for (const row of rows)
      expect(Object.keys(row).sort()).toEqual(
        [
          "runId",
          "createdAt",
          "status",
          "outcome",
          "currentStep",
          "testWeightedF1",
          "took",
          "idle",
          "input",
        ].sort(),
      );
    expect(rows.map((x) => x.createdAt)).toEqual([...rows.map((x) => x.createdAt)].sort().reverse());
    const table = await cli(["runs", "--limit", "2"]);
    expect(table.out.split("\n")[0]).toMatch(/^RUN +STARTED +OUTCOME +TEST F1 +TOOK$/);
    expect(table.out.trim().split("\n")).toHaveLength(3);
  });

  it("retrigger restarts a run from a step, with who asked and why in its trail", async () => {
    const r = await runFile("again.jsonl");
    const again = await cli([
      "retrigger",
      r.runId,
      "--from",
      "evaluate",
      "--reason",
      "re-check after the fix",
      "--by",
      "ana",
    ]);
    expect(again.code, again.out + again.err).toBe(0);
    expect(again.out).toContain("restarted");
    const s = JSON.parse((await cli(["status", r.runId, "--json"])).out) as {
      trail: string[];
      steps: { step: string; attempt: number }[];
    };
    expect(s.trail.join("\n")).toContain("manual retrigger from evaluate by ana: re-check after the fix");
    expect(s.steps.find((x) => x.step === "evaluate")!.attempt).toBe(2);
  });

  it("refuses a retrigger the run cannot honour, saying why, before publishing anything", async () => {
    const r = await cli(["retrigger", bad.runId, "--from", "train", "--reason", "try"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/retrigger refused: cannot restart bad-[0-9a-f]+ from train: /);
    expect((await cli(["retrigger", "no-such-run-42", "--from", "tune", "--reason", "x"])).err).toContain(
      "no run no-such-run-42",
    );
    expect((await cli(["retrigger", bad.runId, "--from", "deploy", "--reason", "x"])).err).toContain(
      "--from must be one of",
    );
  });

  it("report renders the report into the run folder on demand", async () => {
    const rep = await cli(["report", clean.runId, "--json", "--out", join(root, "copy.html")]);
    expect(rep.code).toBe(0);
    const res = JSON.parse(rep.out) as { report: string; copy: string; verdict: { outcome: string } };
    expect(res.verdict.outcome).toBe("promoted");
    expect(readFileSync(res.copy, "utf8")).toBe(readFileSync(res.report, "utf8"));
  });

  it("answers a mistake with exit 1 and a message naming it", async () => {
    expect(await cli(["deploy-everything"])).toMatchObject({
      code: 1,
      err: expect.stringContaining('unknown command "deploy-everything"'),
    });
    expect((await cli(["watch"])).err).toContain("which run?");
    expect((await cli(["run", join(root, "missing.jsonl")])).err).toContain("no such file");
    expect((await cli(["runs", "--colour"])).err).toContain("unknown option --colour");
    expect((await cli(["status", "Not A Run"])).err).toContain("is not a run id");
  });
});

describe("the sentiment-pipeline bin", () => {
  it("runs the TypeScript entry through its launcher", () => {
    const r = spawnSync(
      process.execPath,
      [join(REPO, "cli/bin/sentiment-pipeline.js"), "runs", "--json", "--config", configFile],
      {
        cwd: REPO,
        encoding: "utf8",
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
    const help = spawnSync(process.execPath, [join(REPO, "cli/bin/sentiment-pipeline.js"), "--help"], {
      encoding: "utf8",
    });
    expect(help.stdout).toContain("exit status:");
  });

  it("gen-reviews writes generated reviews", () => {
    const out = join(root, "gen.jsonl");
    const r = spawnSync(
      process.execPath,
      [
        join(REPO, "cli/bin/sentiment-pipeline.js"),
        "gen-reviews",
        "--rows",
        "5",
        "--seed",
        "3",
        "--scenario",
        "clean",
        "--out",
        out,
      ],
      { cwd: REPO, encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out) && readFileSync(out, "utf8").trim().split("\n")).toHaveLength(5);
  });
});
