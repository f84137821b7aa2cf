// The container server as a process from the checkout, as `npm run serve` and the serving image start it, and a plain
// HTTP client for it: shared by the container server's tests.
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { afterAll } from "vitest";
import { REPO_ROOT } from "../inference/python-env.ts";

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

export interface Started {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  port: number;
  exited: Promise<number | null>;
}

/** Starts serving/server.ts; resolves once it logs that it is ready (or rejects with its last lines). */
export function startServer(env: Record<string, string>, until = "predict server ready"): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", "serving/server.ts"], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    let port = 0;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (typeof entry.port === "number") port = entry.port;
        if (String(entry.message).startsWith(until)) resolve({ child, lines, port, exited });
      }
    });
    void exited.then((code) =>
      reject(
        new Error(`server exited with ${code}: ${JSON.stringify(lines.slice(-3))} ${stderr.slice(-500)}`),
      ),
    );
  });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export function send(port: number, method: string, path: string, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path,
      headers: { "content-type": "application/json" },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: text ? (JSON.parse(text) as Reply["body"]) : {},
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}
