// Every command and flag the plan passes exists in the installed Google Cloud CLI, read from the CLI's own command
// tree (data/cli/gcloud_completions.py in the SDK). Skipped, with a message, where no Google Cloud CLI is installed.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { samplePlan } from "./support/sample-plan.ts";

interface CliNode {
  commands: Record<string, CliNode>;
  flags: Record<string, unknown>;
}

function installedCliTree(): CliNode | null {
  let gcloud: string;
  try {
    gcloud = realpathSync(execFileSync("bash", ["-c", "command -v gcloud"], { encoding: "utf8" }).trim());
  } catch {
    return null;
  }
  const file = join(dirname(dirname(gcloud)), "data", "cli", "gcloud_completions.py");
  if (!existsSync(file)) return null;
  const text = readFileSync(file, "utf8");
  return JSON.parse(text.slice(text.indexOf("{"))) as CliNode;
}

const tree = installedCliTree();
if (!tree)
  console.warn("gcloud-flags test skipped: no Google Cloud CLI with a static command tree is installed");

describe.skipIf(!tree)("plan commands against the installed gcloud", () => {
  it("uses only commands and flags that gcloud knows", () => {
    const plan = samplePlan();
    const argvs = [
      ...plan.resources.flatMap((r) => [r.describe, ...r.create, ...(r.update ?? []), ...(r.delete ?? [])]),
      ...plan.variables.map((v) => v.command),
    ];
    const problems: string[] = [];
    const commands = new Set<string>();
    for (const argv of argvs) {
      // Walk the command groups as far as the words go; what is left are positional arguments.
      let node = tree!;
      const path: string[] = [];
      for (const word of argv) {
        const next = word.startsWith("--") ? undefined : node.commands[word];
        if (!next) break;
        node = next;
        path.push(word);
      }
      commands.add(path.join(" "));
      if (Object.keys(node.commands).length > 0 || path.length < 2) {
        problems.push(`gcloud ${argv.join(" ")}: not a command`);
        continue;
      }
      for (const arg of argv.filter((a) => a.startsWith("--"))) {
        const flag = arg.split("=")[0]!;
        const known = (f: string) => f in node.flags || f in tree!.flags;
        if (!known(flag) && !(flag.startsWith("--no-") && known(`--${flag.slice(5)}`))) {
          problems.push(`gcloud ${path.join(" ")} has no ${flag}`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
    expect(commands.size).toBeGreaterThan(15);
  });
});
