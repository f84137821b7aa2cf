// "Did you mean": the distance, the choice of names, and the CLI's messages for a mistyped command or flag.
import { describe, expect, it } from "vitest";
import { main } from "../../cli/main.ts";
import type { Io } from "../../cli/args.ts";
import {
  didYouMean,
  editDistance,
  parseOptions,
  suggestions,
  UnknownOptionError,
} from "../../schemas/suggest.ts";

async function cli(args: string[]): Promise<{ code: number; err: string }> {
  const err = { text: "" };
  const io: Io = {
    out: { write: () => undefined, isTTY: false, columns: 120, color: false },
    err: { write: (t) => void (err.text += t), isTTY: false, columns: 120, color: false },
    env: {},
    signal: new AbortController().signal,
  };
  const code = await main(args, io);
  return { code, err: err.text };
}

describe("editDistance", () => {
  it("counts inserts, deletes, substitutions and a swap of neighbours as one edit each", () => {
    expect(editDistance("json", "json")).toBe(0);
    expect(editDistance("jsn", "json")).toBe(1);
    expect(editDistance("jsoon", "json")).toBe(1);
    expect(editDistance("jsan", "json")).toBe(1);
    expect(editDistance("josn", "json")).toBe(1); // plain Levenshtein says 2
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
});

describe("suggestions", () => {
  it("offers close names, closest first, and nothing for what is far from all of them", () => {
    expect(suggestions("stauts", ["status", "runs", "watch"])).toEqual(["status"]);
    expect(suggestions("--limt", ["--limit", "--json", "--mode"])).toEqual(["--limit"]);
    expect(suggestions("deploy-everything", ["run", "status", "report"])).toEqual([]);
    expect(suggestions("gen", ["gen-reviews", "run"])).toEqual(["gen-reviews"]);
  });

  it("names every name tied at the closest distance", () => {
    expect(didYouMean("rn", ["run", "runs"])).toBe(" (did you mean run?)");
    expect(didYouMean("--mod", ["--mode", "--mod2"])).toBe(" (did you mean --mod2 or --mode?)");
    expect(didYouMean("xyzzy", ["run"])).toBe("");
  });
});

describe("parseOptions, which every command line parses through (cli, demo, deploy, prepare, gen-reviews)", () => {
  const options = { "dry-run": { type: "boolean" }, out: { type: "string", short: "o" } } as const;

  it("parses what node's parseArgs parses, strictly", () => {
    expect(parseOptions({ args: ["--dry-run", "-o", "x"], options }).values).toEqual({
      "dry-run": true,
      out: "x",
    });
  });

  it("names the closest known option in one line, as a TypeError with node's code", () => {
    let thrown: unknown;
    try {
      parseOptions({ args: ["--dry-rnu"], options });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnknownOptionError);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as UnknownOptionError).code).toBe("ERR_PARSE_ARGS_UNKNOWN_OPTION");
    expect((thrown as Error).message).toBe("unknown option --dry-rnu (did you mean --dry-run?)");
    // Other mistakes keep node's own error.
    expect(() => parseOptions({ args: ["--out"], options })).toThrow(/argument missing/);
  });
});

describe("the CLI", () => {
  it("suggests the command meant by a mistyped one", async () => {
    const r = await cli(["stauts"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^unknown command "stauts" \(did you mean status\?\)/);
  });

  it("suggests the flag meant by a mistyped one, from the command's own flags and the global ones", async () => {
    const limit = await cli(["runs", "--limt", "3"]);
    expect(limit.code).toBe(1);
    // One line: Node's advice about positionals (it starts "To specify a positional argument") is left out.
    expect(limit.err).toMatch(
      /^sentiment-pipeline runs: unknown option --limt \(did you mean --limit\?\)\n\nusage:/,
    );
    expect(limit.err).not.toContain("positional");
    expect((await cli(["runs", "--jsno"])).err).toContain("unknown option --jsno (did you mean --json?)");
    expect((await cli(["report", "x", "--ot", "f"])).err).toContain("(did you mean --out?)");
  });

  it("suggests flags the same way for gen-reviews, and takes the global --json there too", async () => {
    const typo = await cli(["gen-reviews", "--rwos", "5"]);
    expect(typo.code).toBe(1);
    expect(typo.err).toContain("unknown option --rwos (did you mean --rows?)");
  });

  it("says nothing more when no flag is close", async () => {
    const r = await cli(["runs", "--colour"]);
    expect(r.err).toContain("unknown option --colour\n");
    expect(r.err).not.toContain("did you mean");
  });
});
