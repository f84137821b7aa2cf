// Client options for the Vertex AI clients: the regional endpoint in Google Cloud, or the local stand-in over plaintext.
import * as grpc from "@grpc/grpc-js";
import type { v1 } from "@google-cloud/aiplatform";
import type * as aiplatformModule from "@google-cloud/aiplatform";
import type { PipelineConfig } from "../../schemas/config.ts";

/** What the official clients take (google-gax ClientOptions). */
export type ClientOptions = NonNullable<ConstructorParameters<typeof v1.JobServiceClient>[0]>;

export interface VertexLocation {
  projectId: string;
  region: string;
  /** `host:port` of the local stand-in (VERTEX_ENDPOINT); unset: the regional Vertex AI endpoint with Google auth. */
  endpoint?: string;
}

export function vertexClientOptions(location: VertexLocation): ClientOptions {
  if (!location.endpoint)
    return { apiEndpoint: `${location.region}-aiplatform.googleapis.com`, projectId: location.projectId };
  const m = /^(?:https?:\/\/)?([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(location.endpoint.trim());
  if (!m) throw new Error(`VERTEX_ENDPOINT must be host:port, got ${JSON.stringify(location.endpoint)}`);
  return {
    apiEndpoint: m[1]!,
    port: Number(m[2]),
    sslCreds: grpc.credentials.createInsecure(),
    projectId: location.projectId,
    // Named, so google-auth does not probe the metadata server to find it: the stand-in needs no credentials.
    universeDomain: "googleapis.com",
  };
}

/** The location from the config; the stand-in's endpoint applies in emulators mode only. */
export function vertexLocationOf(config: PipelineConfig): VertexLocation {
  const r = config.runtime;
  if (r.mode === "emulators" && !r.vertexEndpoint) {
    throw new Error(
      "emulators mode needs VERTEX_ENDPOINT (host:port of the Vertex AI stand-in; `npm run emulators:start` prints it)",
    );
  }
  return {
    projectId: r.projectId,
    region: r.region,
    ...(r.mode === "emulators" && r.vertexEndpoint ? { endpoint: r.vertexEndpoint } : {}),
  };
}

/** projects/P/locations/R */
export function locationName(location: VertexLocation): string {
  return `projects/${location.projectId}/locations/${location.region}`;
}

type Aiplatform = typeof aiplatformModule;
let aiplatform: Promise<Aiplatform> | undefined;

/**
 * The official client library, loaded on first use: importing it and building a client parse several megabytes of
 * protos (seconds), which a function that never calls Vertex (start-run) should not pay at every cold start.
 */
export function loadAiplatform(): Promise<Aiplatform> {
  return (aiplatform ??= import("@google-cloud/aiplatform"));
}

/** The gRPC status code of a client error, if it carries one. */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}
