// Puts the fake gcloud behind an executable: a small bash script named gcloud that hands its arguments to the stub
// in the test process over a loopback socket and prints the answer, so each call costs a bash start, not a Node one.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import type { CommandResult, CommandRunner } from "../../../deploy/command-runner.ts";
import { handleGcloud, type StubState } from "./gcloud-stub.ts";

export interface GcloudExecutable {
  /** Path of the gcloud executable. */
  bin: string;
  state: StubState;
  close(): Promise<void>;
}

/** Starts the stub and writes `DIR/gcloud`; the script sends `RESPONSE-PREFIX\0ARGC\0ARG\0...` and reads files back. */
export async function startGcloudExecutable(dir: string, state: StubState): Promise<GcloudExecutable> {
  mkdirSync(dir, { recursive: true });
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parts = buf.toString("utf8").split("\0");
      const argc = Number(parts[1]);
      // Complete when the prefix, the count and every argument have arrived, each ended by a NUL.
      if (parts.length < 3 || !Number.isInteger(argc) || parts.length - 1 < argc + 2) return;
      const prefix = parts[0]!;
      const result = handleGcloud(state, parts.slice(2, 2 + argc));
      writeFileSync(`${prefix}.out`, result.stdout);
      writeFileSync(`${prefix}.err`, result.stderr);
      writeFileSync(`${prefix}.code`, `${result.code}\n`);
      socket.end("done\n");
    });
  });
  await new Promise<void>((resolvePromise) => server.listen(0, "127.0.0.1", resolvePromise));
  const port = (server.address() as AddressInfo).port;
  const bin = join(dir, "gcloud");
  writeFileSync(
    bin,
    [
      "#!/bin/bash",
      "# The fake gcloud: the test's stub answers; this prints its stdout, stderr and exit status.",
      `r='${dir}/response.'"$$"`,
      `exec 3<>/dev/tcp/127.0.0.1/${port} || exit 97`,
      `printf '%s\\0' "$r" "$#" "$@" >&3`,
      "IFS= read -r ack <&3",
      "exec 3<&-",
      'cat "$r.out"',
      'cat "$r.err" >&2',
      'IFS= read -r code < "$r.code"',
      'rm -f "$r.out" "$r.err" "$r.code"',
      'exit "$code"',
      "",
    ].join("\n"),
  );
  chmodSync(bin, 0o755);
  return {
    bin,
    state,
    close: () => new Promise<void>((resolvePromise) => server.close(() => resolvePromise())),
  };
}

/** The same stub in-process: no process per call, for tests that make many plans. */
export class InProcessGcloud implements CommandRunner {
  constructor(readonly state: StubState) {}

  run(args: readonly string[]): Promise<CommandResult> {
    return Promise.resolve(handleGcloud(this.state, args));
  }
}
