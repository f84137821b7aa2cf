// The serving container on a Vertex AI endpoint: it serves the copy of the model that Vertex names in AIP_STORAGE_URI
// (its identity can read only that copy), and a 403 on the model is a setup error: CRITICAL, exit 1, naming who was
// refused, instead of health answering 503 for ever.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { containerSettings } from "../../serving/container-server.ts";
import { send, startServer } from "./server-process.ts";
import { placeModel, scratchDir } from "./support.ts";

const root = scratchDir();
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(root, { recursive: true, force: true });
});

/** Cloud Storage's answer to an identity without storage.objects.get, as the JSON API gives it. */
const DENIED = {
  error: {
    code: 403,
    message:
      "serving-sa@my-project.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).",
    errors: [{ domain: "global", reason: "forbidden" }],
  },
};

/** A Cloud Storage endpoint that refuses everything with 403; resolves with its URL. */
async function refusingStorage(): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify(DENIED));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("the serving container on a Vertex AI endpoint", () => {
  it("reads AIP_STORAGE_URI as the model's location; it must be a gs:// URI", () => {
    expect(containerSettings({ AIP_STORAGE_URI: "gs://caip-copy/model" }).modelUri).toBe(
      "gs://caip-copy/model",
    );
    expect(containerSettings({}).modelUri).toBeNull();
    expect(() => containerSettings({ AIP_STORAGE_URI: "/etc" })).toThrow(
      /AIP_STORAGE_URI must be a gs:\/\/ URI/,
    );
  });

  it("serves the copy in AIP_STORAGE_URI, not MODEL_URI (the registry's champion it could not read)", async () => {
    const localRoot = join(root, "vertex");
    placeModel(join(localRoot, "bucket", "endpoint-copy", "model"), "run-v", 3);
    const s = await startServer({
      LOCAL_ROOT: localRoot,
      BUCKET: "vertex-copy",
      // The registry here has no champion: reading MODEL_URI would end the server.
      MODEL_URI: "champion",
      AIP_STORAGE_URI: "gs://vertex-copy/endpoint-copy/model",
      AIP_HTTP_PORT: "0",
      SERVING_CACHE_DIR: join(root, "cache"),
    });
    const health = await send(s.port, "GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body.model).toMatchObject({ runId: "run-v", uri: "gs://vertex-copy/endpoint-copy/model" });
    expect(s.lines.some((l) => /MODEL_URI is ignored/.test(String(l.message)))).toBe(true);
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  });

  it("exits 1 with a CRITICAL line naming the refused identity when the model is forbidden (403)", async () => {
    const storage = await refusingStorage();
    const s = await startServer(
      {
        PIPELINE_MODE: "emulators",
        STORAGE_EMULATOR_ENDPOINT: storage,
        GOOGLE_CLOUD_PROJECT: "my-project",
        AIP_STORAGE_URI: "gs://caip-copy/model",
        AIP_HTTP_PORT: "0",
        SERVING_CACHE_DIR: join(root, "cache-403"),
      },
      "predict server listening",
    );
    // Before the fix a 403 counted as transient: the server stayed up answering 503. A generous bound, not a timing.
    const code = await Promise.race([
      s.exited,
      new Promise<string>((r) => setTimeout(() => r("still running after 30 s"), 30_000)),
    ]);
    expect(code).toBe(1);
    const critical = s.lines.find((l) => l.severity === "CRITICAL");
    expect(critical).toMatchObject({
      errorName: "PermissionDeniedError",
      identity: "serving-sa@my-project.iam.gserviceaccount.com",
      modelUri: "gs://caip-copy/model",
    });
    expect(String(critical?.message)).toMatch(
      /serving-sa@my-project\.iam\.gserviceaccount\.com was refused access to gs:\/\/caip-copy\/model\/\S+ \(storage\.objects\.get\)/,
    );
  }, 60_000);
});
