// Loads the Vertex AI job and model service protos shipped inside @google-cloud/aiplatform, for server and Any packing.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);

const FILES = [
  "google/cloud/aiplatform/v1/job_service.proto",
  "google/cloud/aiplatform/v1/model_service.proto",
  "google/longrunning/operations.proto",
];

/** Field names in camelCase, 64-bit numbers and enums as strings: what the handlers read and write. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface VertexProtos {
  jobService: grpc.ServiceDefinition;
  modelService: grpc.ServiceDefinition;
  operations: grpc.ServiceDefinition;
  /** Encodes a message for a google.protobuf.Any of the given full type name. */
  pack(typeName: string, value: Record<string, unknown>): { typeUrl: string; value: Buffer };
}

let cached: VertexProtos | undefined;

/** The include folders: aiplatform's own protos, and google-gax's for google/api, longrunning, rpc and protobuf. */
export function protoIncludeDirs(): string[] {
  const aiplatform = join(dirname(require.resolve("@google-cloud/aiplatform")), "..", "protos");
  const gax = join(dirname(require.resolve("google-gax")), "..", "protos");
  return [aiplatform, gax];
}

export function loadVertexProtos(): VertexProtos {
  if (cached) return cached;
  const includeDirs = protoIncludeDirs();
  const definition = protoLoader.loadSync(FILES, { ...LOADER_OPTIONS, includeDirs });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    google: {
      cloud: { aiplatform: { v1: Record<string, { service: grpc.ServiceDefinition }> } };
      longrunning: Record<string, { service: grpc.ServiceDefinition }>;
    };
  };
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      try {
        require.resolve(candidate);
        return candidate;
      } catch {
        // not in this folder; try the next
      }
    }
    return target;
  };
  root.loadSync(FILES, { keepCase: false });
  root.resolveAll();
  const v1 = pkg.google.cloud.aiplatform.v1;
  const service = (
    name: string,
    from: Record<string, { service: grpc.ServiceDefinition }>,
  ): grpc.ServiceDefinition => {
    const s = from[name];
    if (!s) throw new Error(`the aiplatform protos lack ${name}`);
    return s.service;
  };
  cached = {
    jobService: service("JobService", v1),
    modelService: service("ModelService", v1),
    operations: service("Operations", pkg.google.longrunning),
    pack(typeName, value) {
      const type = root.lookupType(typeName);
      return {
        typeUrl: `type.googleapis.com/${typeName}`,
        value: Buffer.from(type.encode(type.fromObject(value)).finish()),
      };
    },
  };
  return cached;
}
