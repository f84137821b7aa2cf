// Starts the local cloud in order: Pub/Sub and MLflow, topics and triggers, Cloud Storage, the Vertex stand-in, relay, functions.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { PubSub } from "@google-cloud/pubsub";
import { Storage } from "@google-cloud/storage";
import type { PipelineConfig } from "../../schemas/config.ts";
import { ENTRY_POINTS } from "../../functions/register.ts";
import { pubsubClientOptions } from "../../platform/gcp/pubsub-event-bus.ts";
import type { Logger } from "../../platform/ports/logger.ts";
import { topicId, type SubscriberName } from "../../events/topics.ts";
import { INSTALL_HINTS, MissingPieceError, findFakeGcs, findPstest, findPubSubEmulator } from "./binaries.ts";
import { LOOPBACK, freePort, httpAnswers, isListening, waitUntil } from "./ports.ts";
import { Supervisor, type RunningPiece } from "./supervisor.ts";
import { FUNCTION_NAMES, createTopology, routesFor, uploadNotificationTopic } from "./topology.ts";
import type { RelayOptions, RelayRoute } from "./relay.ts";
import { mlflowServerCommand } from "../../tracking/local-mlflow-server.ts";
import { startRateLimitedGcs } from "./gcs-rate-limit.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");

/** Ports `npm run emulators:start` uses unless told --ports auto: the emulators' usual ones where they have one. */
export const DEFAULT_PORTS = {
  pubsub: 8085,
  storage: 4443,
  vertex: 8095,
  vertexAdmin: 8096,
  relay: 8089,
  mlflow: 5000,
} as const;
/** Function hosts listen from here up, one port each, in the order of FUNCTION_NAMES. */
export const FIRST_FUNCTION_PORT = 8081;

export type PortMap = { -readonly [K in keyof typeof DEFAULT_PORTS]: number } & {
  functions: Record<string, number>;
};

export interface StackOptions {
  /** The pipeline config the stack serves (bucket, project, topic prefix, local commands); endpoints are set by the stack. */
  config: PipelineConfig;
  log: Logger;
  /** One log file per process goes here. */
  logsDir: string;
  /** Emulator data: the bucket (filesystem backend), MLflow's database, job logs. */
  dataDir: string;
  ports?: "default" | "auto";
  pubsub?: "auto" | "official" | "pstest";
  /** push: emulator push subscriptions to the relay (as Eventarc); pull: the relay pulls. Default: push where the emulator pushes. */
  delivery?: "push" | "pull";
  /** Which functions get a host process; default all four when the source exists. */
  functions?: readonly SubscriberName[];
  /** The module that registers the functions with functions-framework. */
  functionSource?: string;
  mlflow?: boolean;
  /** The Vertex AI stand-in (default on); adapter tests of Pub/Sub and Cloud Storage go without it. */
  vertex?: boolean;
  storageBackend?: "memory" | "filesystem";
  /** Seconds a Vertex job replica gets between SIGTERM and SIGKILL. */
  vertexGraceSeconds?: number;
  maxDeliveryAttempts?: number;
  /** Extra environment for every process the stack starts. */
  env?: Record<string, string>;
  /**
   * Milliseconds between two writes of one object name before Cloud Storage answers 429 (about 1,000 in Google
   * Cloud); fake-gcs-server sits behind a proxy that enforces it. 0 turns the limit off.
   */
  sameObjectWriteMs?: number;
  /** Seconds between two ticks on reconcile-ticks, as Cloud Scheduler sends them (deploy: every 5 minutes). 0: none. */
  reconcileEverySeconds?: number;
}

export interface StackInfo {
  startedAt: string;
  logsDir: string;
  delivery: "push" | "pull";
  pubsubImplementation: "official" | "pstest";
  endpoints: {
    pubsub: string;
    storage: string;
    vertex: string | null;
    vertexAdmin: string | null;
    relay: string | null;
    mlflow: string | null;
    functions: Partial<Record<SubscriberName, string>>;
  };
  /** What a process needs to use the stack: `export` these. */
  env: Record<string, string>;
  pieces: RunningPiece[];
}

export interface RunningStack {
  info: StackInfo;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config, log } = options;
  const r = config.runtime;
  const logsDir = resolve(options.logsDir);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const source = resolve(REPO_ROOT, options.functionSource ?? "functions/index.ts");
  const functions = options.functions ?? (existsSync(source) ? FUNCTION_NAMES : []);
  const ports = await allocatePorts(options.ports ?? "default", functions);
  if (functions.length > 0 && !existsSync(source)) {
    throw new MissingPieceError(
      `the functions' entry module ${source} does not exist (start with --no-functions to run the emulators alone)`,
    );
  }

  const pubsubBinary = pickPubSub(options.pubsub ?? "auto");
  const delivery = options.delivery ?? (pubsubBinary.kind === "official" ? "push" : "pull");
  if (delivery === "push" && pubsubBinary.kind === "pstest")
    throw new MissingPieceError("pstest has no push delivery: use --delivery pull");
  const fakeGcs = findFakeGcs();
  if (!fakeGcs) throw new MissingPieceError(INSTALL_HINTS.gcs);

  const url = (port: number): string => `http://${LOOPBACK}:${port}`;
  const env: Record<string, string> = {
    PIPELINE_MODE: "emulators",
    GOOGLE_CLOUD_PROJECT: r.projectId,
    GOOGLE_CLOUD_REGION: r.region,
    BUCKET: r.bucket,
    PUBSUB_EMULATOR_HOST: `${LOOPBACK}:${ports.pubsub}`,
    STORAGE_EMULATOR_ENDPOINT: url(ports.storage),
    ...(options.vertex !== false ? { VERTEX_ENDPOINT: `${LOOPBACK}:${ports.vertex}` } : {}),
    ...(r.topicPrefix ? { TOPIC_PREFIX: r.topicPrefix } : {}),
    ...(options.mlflow !== false ? { MLFLOW_TRACKING_URI: url(ports.mlflow) } : {}),
  };
  // Processes started here reach only loopback emulators: no credentials, no metadata server.
  const childEnv = { ...env, METADATA_SERVER_DETECTION: "none", ...options.env };

  const errors: string[] = [];
  const supervisor = new Supervisor(logsDir, log, (name, reason) => {
    errors.push(`${name} ${reason}`);
    log.error(
      `the stack lost ${name} (${reason}); restart it with npm run emulators:stop && npm run emulators:start`,
    );
  });
  let closeStorageProxy = (): Promise<void> => Promise.resolve();
  let stopTicks = (): Promise<void> => Promise.resolve();
  const stop = (): Promise<void> =>
    stopTicks()
      .then(() => Promise.all([supervisor.stopAll(), closeStorageProxy()]))
      .then(() => undefined);
  try {
    const tsx = (script: string, args: string[]): { command: string; args: string[] } => ({
      command: process.execPath,
      args: ["--import", "tsx", join(REPO_ROOT, script), ...args],
    });

    // 1. Pub/Sub, and MLflow beside it (both take seconds).
    const pubsubPiece = supervisor.start({
      name: "pubsub",
      command: pubsubBinary.found.command,
      args: [...pubsubBinary.found.args, ...pubsubBinary.args(ports.pubsub)],
      env: {
        // A small, quickly started JVM: the emulator is idle most of the time.
        JAVA_OPTS: "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx512m",
      },
      ready: (died) =>
        waitUntil("Pub/Sub emulator", () => isListening(ports.pubsub), { timeoutMs: 60_000, abort: died }),
    });
    const mlflowPiece =
      options.mlflow === false ? null : startMlflow(supervisor, ports.mlflow, join(dataDir, "mlflow"));
    await pubsubPiece;

    // 2. Topics, dead-letter topics and one subscription per trigger, from the registry.
    const routes = routesFor(r.topicPrefix, functions);
    const pubsub = new PubSub(pubsubClientOptions(r.projectId, env.PUBSUB_EMULATOR_HOST));
    await createTopology(pubsub, {
      prefix: r.topicPrefix,
      routes,
      pushEndpoint: (route) =>
        delivery === "push" ? `${url(ports.relay)}/push/${encodeURIComponent(route.subscription)}` : null,
      ...(options.maxDeliveryAttempts ? { maxDeliveryAttempts: options.maxDeliveryAttempts } : {}),
    });
    await pubsub.close();

    // 3. Cloud Storage with notifications for uploads/, the Vertex stand-in, the relay and the function hosts, in parallel.
    const storageRoot = join(dataDir, "gcs");
    // fake-gcs-server listens on a port of its own; clients reach it through the proxy that limits same-object writes.
    const gcsPort = await freePort();
    const gcsPiece = supervisor.start({
      name: "storage",
      command: fakeGcs.command,
      args: [
        "-scheme",
        "http",
        "-host",
        LOOPBACK,
        "-port",
        String(gcsPort),
        "-external-url",
        url(ports.storage),
        "-public-host",
        `${LOOPBACK}:${ports.storage}`,
        "-backend",
        options.storageBackend ?? "memory",
        "-filesystem-root",
        storageRoot,
        "-location",
        r.region.toUpperCase(),
        "-log-level",
        "warn",
        "-event.pubsub-project-id",
        r.projectId,
        // A Pub/Sub notification of the bucket limited to uploads/ and OBJECT_FINALIZE, as deploy creates it.
        "-event.pubsub-topic",
        uploadNotificationTopic(r.topicPrefix),
        "-event.bucket",
        r.bucket,
        "-event.object-prefix",
        "uploads/",
        "-event.list",
        "finalize",
      ],
      env: { PUBSUB_EMULATOR_HOST: env.PUBSUB_EMULATOR_HOST! },
      ready: (died) =>
        waitUntil("Cloud Storage emulator", () => httpAnswers(`${url(gcsPort)}/storage/v1/b`), {
          timeoutMs: 30_000,
          abort: died,
        }),
    });
    const proxy = await startRateLimitedGcs({
      target: url(gcsPort),
      host: LOOPBACK,
      port: ports.storage,
      windowMs: options.sameObjectWriteMs ?? 1000,
    });
    closeStorageProxy = () => proxy.close();
    const vertexPiece =
      options.vertex === false
        ? null
        : supervisor.start({
            name: "vertex",
            ...tsx("emulator/vertex/main.ts", [
              "--port",
              String(ports.vertex),
              "--admin-port",
              String(ports.vertexAdmin),
              "--jobs-log-dir",
              join(logsDir, "jobs"),
              "--grace-seconds",
              String(options.vertexGraceSeconds ?? 30),
            ]),
            env: childEnv,
            restart: true,
            ready: (died) =>
              waitUntil("Vertex AI stand-in", () => httpAnswers(`${url(ports.vertexAdmin)}/healthz`), {
                timeoutMs: 60_000,
                abort: died,
              }),
          });
    const relayConfig = join(dataDir, "relay.json");
    const relayRoutes: RelayRoute[] = routes.map((route) => ({
      ...route,
      target: `${url(ports.functions[route.fn]!)}/`,
    }));
    const relayOptions: Omit<RelayOptions, "log"> = {
      projectId: r.projectId,
      pubsubHost: env.PUBSUB_EMULATOR_HOST!,
      routes: relayRoutes,
      delivery,
      port: ports.relay,
    };
    writeFileSync(relayConfig, JSON.stringify(relayOptions, null, 2));
    // The relay delivers to functions; without any there is nothing for it to do.
    const relayPiece =
      routes.length === 0
        ? null
        : supervisor.start({
            name: "relay",
            ...tsx("emulator/stack/relay-main.ts", [relayConfig]),
            env: childEnv,
            restart: true,
            ready: (died) =>
              waitUntil("relay", () => httpAnswers(`${url(ports.relay)}/healthz`), {
                timeoutMs: 60_000,
                abort: died,
              }),
          });
    const functionPieces = functions.map((fn) =>
      supervisor.start({
        name: `fn-${fn}`,
        ...tsx("emulator/stack/function-host.ts", [
          "--source",
          source,
          "--target",
          ENTRY_POINTS[fn],
          "--port",
          String(ports.functions[fn]),
        ]),
        env: childEnv,
        restart: true,
        ready: (died) =>
          waitUntil(`function ${fn}`, () => isListening(ports.functions[fn]!), {
            timeoutMs: 90_000,
            abort: died,
          }),
      }),
    );
    await Promise.all([gcsPiece, vertexPiece, relayPiece, mlflowPiece, ...functionPieces]);

    // 4. The bucket.
    const storage = new Storage({
      apiEndpoint: url(ports.storage),
      projectId: r.projectId,
      useAuthWithCustomEndpoint: false,
    });
    const [exists] = await storage.bucket(r.bucket).exists();
    if (!exists) await storage.createBucket(r.bucket);

    // 5. Cloud Scheduler's stand-in: a tick on reconcile-ticks every few seconds, for reconcile-runs.
    const every = options.reconcileEverySeconds ?? 30;
    if (every > 0 && functions.includes("reconcile-runs")) {
      const ticks = new PubSub(pubsubClientOptions(r.projectId, env.PUBSUB_EMULATOR_HOST));
      const topic = ticks.topic(topicId("reconcileTicks", r.topicPrefix));
      const timer = setInterval(() => {
        topic
          .publishMessage({ data: Buffer.from("{}") })
          .catch((err: unknown) => log.warn(`could not publish a reconcile tick: ${(err as Error).message}`));
      }, every * 1000);
      timer.unref();
      stopTicks = () => {
        clearInterval(timer);
        return ticks.close();
      };
    }

    if (errors.length > 0) throw new Error(`pieces died while the stack started: ${errors.join("; ")}`);
    const info: StackInfo = {
      startedAt: new Date().toISOString(),
      logsDir,
      delivery,
      pubsubImplementation: pubsubBinary.kind,
      endpoints: {
        pubsub: env.PUBSUB_EMULATOR_HOST!,
        storage: env.STORAGE_EMULATOR_ENDPOINT!,
        vertex: env.VERTEX_ENDPOINT ?? null,
        vertexAdmin: options.vertex === false ? null : url(ports.vertexAdmin),
        relay: relayPiece ? url(ports.relay) : null,
        mlflow: options.mlflow === false ? null : url(ports.mlflow),
        functions: Object.fromEntries(functions.map((fn) => [fn, url(ports.functions[fn]!)])),
      },
      env,
      pieces: supervisor.running(),
    };
    return { info, supervisor, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function allocatePorts(
  mode: "default" | "auto",
  functions: readonly SubscriberName[],
): Promise<PortMap> {
  const fixed: PortMap = {
    ...DEFAULT_PORTS,
    functions: Object.fromEntries(FUNCTION_NAMES.map((fn, i) => [fn, FIRST_FUNCTION_PORT + i])),
  };
  const wanted: Array<[string, number, (p: number) => void]> = [
    ...(Object.keys(DEFAULT_PORTS) as (keyof typeof DEFAULT_PORTS)[]).map(
      (k): [string, number, (p: number) => void] => [k, fixed[k], (p) => (fixed[k] = p)],
    ),
    ...functions.map((fn): [string, number, (p: number) => void] => [
      fn,
      fixed.functions[fn] ?? 0,
      (p) => (fixed.functions[fn] = p),
    ]),
  ];
  if (mode === "auto") {
    const taken = new Set<number>();
    for (const [, , set] of wanted) {
      let p = await freePort();
      while (taken.has(p)) p = await freePort();
      taken.add(p);
      set(p);
    }
    return fixed;
  }
  const busy: string[] = [];
  for (const [name, port] of wanted) if (await isListening(port)) busy.push(`${name} (${port})`);
  if (busy.length > 0) {
    throw new Error(
      `ports in use: ${busy.join(", ")}; is a stack running already (npm run emulators:stop)? Or start with --ports auto`,
    );
  }
  return fixed;
}

function pickPubSub(choice: "auto" | "official" | "pstest"): {
  kind: "official" | "pstest";
  found: { command: string; args: string[] };
  args: (port: number) => string[];
} {
  const official = choice !== "pstest" ? findPubSubEmulator() : null;
  if (official)
    return { kind: "official", found: official, args: (p) => [`--host=${LOOPBACK}`, `--port=${p}`] };
  if (choice === "official") throw new MissingPieceError(INSTALL_HINTS.pubsub);
  const pstest = findPstest();
  if (pstest) return { kind: "pstest", found: pstest, args: (p) => ["-host", LOOPBACK, "-port", String(p)] };
  throw new MissingPieceError(INSTALL_HINTS.pubsub);
}

function startMlflow(supervisor: Supervisor, port: number, dir: string): Promise<RunningPiece> {
  mkdirSync(join(dir, "artifacts"), { recursive: true });
  return trainerPythonAsync().then((python) =>
    supervisor.start({
      name: "mlflow",
      command: python,
      ...mlflowServerCommand(dir, port),
      stopGraceSeconds: 5,
      ready: (died) =>
        waitUntil("MLflow", () => httpAnswers(`http://${LOOPBACK}:${port}/health`), {
          timeoutMs: 120_000,
          abort: died,
        }),
    }),
  );
}

/** The trainer's Python (it has MLflow), from the same script the jobs use; fails with the install hint. */
function trainerPythonAsync(): Promise<string> {
  if (process.env.SP_TRAINER_PYTHON) return Promise.resolve(process.env.SP_TRAINER_PYTHON);
  const script = join(REPO_ROOT, "gpu-jobs", "trainer", "scripts", "ensure-venv.sh");
  if (!existsSync(script)) return Promise.reject(new MissingPieceError(INSTALL_HINTS.mlflow));
  return new Promise((resolvePath, reject) => {
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("close", (code) => {
      const path = out.trim().split("\n").pop() ?? "";
      if (code === 0 && path) resolvePath(path);
      else reject(new MissingPieceError(`${INSTALL_HINTS.mlflow} (ensure-venv.sh exited ${code})`));
    });
  });
}
