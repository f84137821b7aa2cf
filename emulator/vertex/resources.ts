// Vertex AI resource names, list filters, page tokens and label rules, as the stand-in's services read them.
import * as grpc from "@grpc/grpc-js";

/** An error the gRPC handlers return with its status code. */
export class RpcError extends Error {
  override readonly name = "RpcError";
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string): RpcError => new RpcError(grpc.status.NOT_FOUND, `${what} not found.`);
export const invalid = (message: string): RpcError => new RpcError(grpc.status.INVALID_ARGUMENT, message);

export interface Location {
  project: string;
  location: string;
}

const PARENT = /^projects\/([^/]+)\/locations\/([^/]+)$/;
const CUSTOM_JOB = /^projects\/([^/]+)\/locations\/([^/]+)\/customJobs\/([^/]+)$/;
const MODEL = /^projects\/([^/]+)\/locations\/([^/]+)\/models\/([^/@]+)(?:@([^/@]+))?$/;
const OPERATION = /^projects\/[^/]+\/locations\/[^/]+\/.+\/operations\/[^/]+$/;

export function parseParent(parent: string): Location {
  const m = PARENT.exec(parent);
  if (!m) throw invalid(`Invalid parent "${parent}": expected projects/{project}/locations/{location}.`);
  return { project: m[1]!, location: m[2]! };
}

export function parseCustomJobName(name: string): Location & { id: string } {
  const m = CUSTOM_JOB.exec(name);
  if (!m)
    throw invalid(
      `Invalid CustomJob name "${name}": expected projects/{project}/locations/{location}/customJobs/{id}.`,
    );
  return { project: m[1]!, location: m[2]!, id: m[3]! };
}

/** A model name with an optional `@version` or `@alias`. */
export function parseModelName(name: string): Location & { modelId: string; versionOrAlias: string | null } {
  const m = MODEL.exec(name);
  if (!m)
    throw invalid(
      `Invalid Model name "${name}": expected projects/{project}/locations/{location}/models/{model}[@version].`,
    );
  return { project: m[1]!, location: m[2]!, modelId: m[3]!, versionOrAlias: m[4] ?? null };
}

export function isOperationName(name: string): boolean {
  return OPERATION.test(name);
}

let lastId = 0n;
/** Numeric ids like Vertex's (19 digits), increasing within a process. */
export function newNumericId(): string {
  const candidate = BigInt(Date.now()) * 1_000_000n;
  lastId = candidate > lastId ? candidate : lastId + 1n;
  return lastId.toString();
}

export interface Timestamp {
  seconds: string;
  nanos: number;
}

export function timestamp(date: Date = new Date()): Timestamp {
  const ms = date.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

export function timestampToIso(ts: Timestamp | null | undefined): string | null {
  if (!ts) return null;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1_000_000)).toISOString();
}

/** A Vertex label key or value: lower-case letters, digits, `_` and `-`, at most 63 characters; keys start with a letter. */
export function checkLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > 64) throw invalid(`Too many labels (${entries.length}); at most 64 are allowed.`);
  for (const [k, v] of entries) {
    if (!/^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u.test(k)) throw invalid(`Invalid label key "${k}".`);
    if (!/^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u.test(v))
      throw invalid(`Invalid label value "${v}" for key "${k}".`);
  }
}

interface Term {
  field: string;
  op: "=" | "!=" | ":";
  value: string;
}

/**
 * The subset of the AIP-160 filters Vertex's list methods take that the project uses:
 * `field = "value"` (also `!=` and `:`) joined by AND, on display_name, state and labels.KEY.
 */
export function parseFilter(filter: string): Term[] {
  const text = filter.trim();
  if (text === "") return [];
  return text.split(/\s+AND\s+/).map((part) => {
    const m = /^\s*([a-zA-Z_][\w.]*)\s*(=|!=|:)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*$/.exec(part);
    if (!m)
      throw invalid(
        `Unsupported filter term "${part}" (the stand-in takes FIELD = "VALUE" terms joined by AND).`,
      );
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[4]!;
    return { field: m[1]!, op: m[2] as Term["op"], value };
  });
}

/** Whether a resource passes the filter; `fields` maps filter fields (display_name, state) to the resource's values. */
export function matchesFilter(
  terms: Term[],
  fields: Record<string, string | undefined>,
  labels: Record<string, string>,
): boolean {
  return terms.every((t) => {
    const actual = t.field.startsWith("labels.") ? labels[t.field.slice("labels.".length)] : fields[t.field];
    if (!t.field.startsWith("labels.") && !(t.field in fields))
      throw invalid(`Unsupported filter field "${t.field}".`);
    switch (t.op) {
      case "=":
        return actual === t.value;
      case "!=":
        return actual !== t.value;
      case ":":
        return t.value === "*" ? actual !== undefined : (actual ?? "").includes(t.value);
    }
  });
}

/** One page of a list: page tokens are offsets, as opaque to the client as Vertex's. */
export function page<T>(
  items: T[],
  pageSize: number,
  pageToken: string,
): { items: T[]; nextPageToken: string } {
  const size = pageSize > 0 ? Math.min(pageSize, 1000) : 100;
  let offset = 0;
  if (pageToken) {
    const decoded = Number(
      Buffer.from(pageToken, "base64url")
        .toString("utf8")
        .replace(/^offset:/, ""),
    );
    if (!Number.isInteger(decoded) || decoded < 0) throw invalid(`Invalid page token "${pageToken}".`);
    offset = decoded;
  }
  const slice = items.slice(offset, offset + size);
  const next =
    offset + size < items.length ? Buffer.from(`offset:${offset + size}`).toString("base64url") : "";
  return { items: slice, nextPageToken: next };
}

/** A job list method: the jobs under `parent` that pass the filter (display_name, state, labels), newest first, paged. */
export function listJobs<
  J extends { name: string; displayName: string; state: string; labels: Record<string, string> },
>(
  jobs: Iterable<J>,
  req: { parent: string; filter: string; pageSize: number; pageToken: string },
): { items: J[]; nextPageToken: string } {
  parseParent(req.parent);
  const terms = parseFilter(req.filter ?? "");
  const matching = [...jobs]
    .filter((j) => j.name.startsWith(`${req.parent}/`))
    .filter((j) => matchesFilter(terms, { display_name: j.displayName, state: j.state }, j.labels))
    .reverse();
  const { items, nextPageToken } = page(matching, req.pageSize, req.pageToken);
  return { items: items.map((j) => structuredClone(j)), nextPageToken };
}

/** Wraps a promise-returning handler as a grpc-js unary handler; RpcErrors keep their code, anything else is INTERNAL. */
export function unary<Req, Res>(
  handler: (request: Req, metadata: grpc.Metadata) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handler(call.request, call.metadata))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e =
            err instanceof RpcError
              ? err
              : new RpcError(grpc.status.INTERNAL, (err as Error).message ?? String(err));
          callback({ code: e.code, details: e.message, metadata: new grpc.Metadata() }, null);
        },
      );
  };
}
