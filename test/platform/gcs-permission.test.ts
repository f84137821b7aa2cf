// A 403 from Cloud Storage is a PermissionDeniedError naming who was refused, from every call of the object store:
// a setup error that callers must not retry as if it were transient.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsObjectStore } from "../../platform/gcp/gcs-object-store.ts";
import { PermissionDeniedError } from "../../platform/ports/object-store.ts";

let server: Server;
let endpoint = "";
/** The message the fake's next 403 carries. */
let message = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify({ error: { code: 403, message, errors: [{ reason: "forbidden" }] } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

async function refusal(p: Promise<unknown>): Promise<PermissionDeniedError> {
  const err = await p.then(
    () => new Error("the call succeeded"),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PermissionDeniedError);
  return err as PermissionDeniedError;
}

describe("GcsObjectStore refused with 403", () => {
  it("names the identity Cloud Storage names, on read, stat and list alike", async () => {
    message =
      "sa-1@p.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist).";
    const store = new GcsObjectStore({
      bucket: "bkt",
      apiEndpoint: endpoint,
      identity: () => Promise.resolve("other"),
    });
    const calls = [
      () => store.read("gs://bkt/m/x"),
      () => store.stat("gs://bkt/m/x"),
      () => store.list("gs://bkt/m/"),
    ];
    for (const call of calls) {
      const err = await refusal(call());
      expect(err.identity).toBe("sa-1@p.iam.gserviceaccount.com");
      expect(err.message).toMatch(
        /^sa-1@p\.iam\.gserviceaccount\.com was refused access to gs:\/\/bkt\/m\/\S* \(storage\.objects\.get\)/,
      );
    }
  });

  it("asks the credentials who it is when the answer does not say, and says so when they cannot tell", async () => {
    message = "Forbidden";
    const known = new GcsObjectStore({
      bucket: "bkt",
      apiEndpoint: endpoint,
      identity: () => Promise.resolve("serving@p.iam.gserviceaccount.com"),
    });
    expect((await refusal(known.read("gs://bkt/x"))).identity).toBe("serving@p.iam.gserviceaccount.com");
    const unknown = new GcsObjectStore({
      bucket: "bkt",
      apiEndpoint: endpoint,
      identity: () => Promise.reject(new Error("no metadata server")),
    });
    const err = await refusal(unknown.read("gs://bkt/x"));
    expect(err.identity).toBe("unknown (the credentials did not say: no metadata server)");
    expect(err.message).toContain("gs://bkt/x");
  });
});
