// Installs the fake gcloud as an executable in a temporary folder: the stub compiled to plain JavaScript (fast to
// start), a shell wrapper named gcloud, and its state file.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import type { CommandResult, CommandRunner } from "../../../deploy/command-runner.ts";
import { handleGcloud, newStubState, type StubState } from "./gcloud-stub.ts";

export interface InstalledStub {
  /** Path of the gcloud executable. */
  bin: string;
  read(): StubState;
  write(state: StubState): void;
}

export function installGcloudStub(dir: string, project: string, cwd: string): InstalledStub {
  mkdirSync(dir, { recursive: true });
  const source = readFileSync(new URL("./gcloud-stub.ts", import.meta.url), "utf8");
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, "gcloud-stub.mjs"), js);
  const stateFile = join(dir, "state.json");
  writeFileSync(stateFile, JSON.stringify(newStubState(project, cwd)));
  const bin = join(dir, "gcloud");
  writeFileSync(
    bin,
    `#!/bin/sh\nGCLOUD_STUB_STATE='${stateFile}' GCLOUD_STUB_MAIN=1 exec '${process.execPath}' '${join(dir, "gcloud-stub.mjs")}' "$@"\n`,
  );
  chmodSync(bin, 0o755);
  return {
    bin,
    read: () => JSON.parse(readFileSync(stateFile, "utf8")) as StubState,
    write: (state) => writeFileSync(stateFile, JSON.stringify(state)),
  };
}

/** The same stub in-process: no process per call, for tests that make many plans. */
export class InProcessGcloud implements CommandRunner {
  constructor(readonly state: StubState) {}

  run(args: readonly string[]): Promise<CommandResult> {
    return Promise.resolve(handleGcloud(this.state, args));
  }
}
