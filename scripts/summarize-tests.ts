// Totals every suite's results into the one line CI reads: `N passed, N failed[, N skipped]`.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".local/test-results";
let passed = 0;
let failed = 0;
let skipped = 0;
const failures: string[] = [];
const checks: string[] = [];

for (const file of existsSync(dir) ? readdirSync(dir) : []) {
  const path = join(dir, file);
  if (file.endsWith(".json") && file.startsWith("vitest")) {
    const report = JSON.parse(readFileSync(path, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      numTodoTests: number;
      numFailedTestSuites: number;
      testResults: {
        name: string;
        status: string;
        message?: string;
        assertionResults: { fullName: string; status: string }[];
      }[];
    };
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    for (const suite of report.testResults) {
      for (const t of suite.assertionResults)
        if (t.status === "failed") failures.push(`${file}: ${t.fullName}`);
      // A file that fails to load, or whose beforeAll fails (its tests then read "skipped"), has no failed assertion:
      // count it once so it cannot pass silently.
      if (suite.status === "failed" && !suite.assertionResults.some((t) => t.status === "failed")) {
        failed += 1;
        failures.push(
          `${file}: ${suite.name} failed outside its tests: ${(suite.message ?? "").split("\n")[0]}`,
        );
      }
    }
  } else if (file.endsWith(".xml")) {
    const xml = readFileSync(path, "utf8");
    const suite = /<testsuite\b[^>]*>/.exec(xml)?.[0] ?? "";
    const attr = (name: string): number => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
    const total = attr("tests");
    const f = attr("failures") + attr("errors");
    const s = attr("skipped");
    passed += total - f - s;
    failed += f;
    skipped += s;
    for (const m of xml.matchAll(
      /<testcase [^>]*classname="([^"]*)" name="([^"]*)"[^>]*>\s*<(failure|error)/g,
    )) {
      failures.push(`${file}: ${m[1]}::${m[2]}`);
    }
  } else if (file === "checks.txt") {
    // Typecheck, lint and format are checks, not tests: reported on a line of their own and not counted as
    // passed tests. A failing one still counts as a failure, so the closing line can never read green over it.
    for (const line of readFileSync(path, "utf8").split("\n").filter(Boolean)) {
      const [name = "?", result] = line.split(" ");
      checks.push(`${name} ${result === "pass" ? "ok" : "FAILED"}`);
      if (result !== "pass") {
        failed += 1;
        failures.push(`check: ${name}`);
      }
    }
  }
}

if (checks.length > 0) console.log(`\nchecks (not counted as tests): ${checks.join(", ")}`);
if (failures.length > 0) console.log(`\nfailed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
