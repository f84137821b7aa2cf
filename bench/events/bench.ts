// Event hops over the emulator stack, publish to handled, against a direct CloudEvent POST to the same function host;
// and how long a function process takes from spawn to serving, against a host of a function that imports nothing.
//
//   npm run bench -- events        (BENCH_HOPS=200 messages per mode, one every BENCH_GAP_MS=50 ms)
//
// Hops are measured by the relay: from the publisher's clock (a benchSentAt attribute set just before publishing
// through the pipeline's own PubSubEventBus) to the function host's response. The functions are echo functions
// (emulator/stack/echo-functions.ts), so the figure is the transport: Pub/Sub emulator, relay, functions-framework.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { launchStack, type StackHandle } from "../../emulator/stack/client.ts";
import { pubsubCloudEvent } from "../../emulator/stack/eventarc.ts";
import { PipelineClient } from "../../emulator/stack/pipeline-client.ts";
import { freePort, isListening } from "../../emulator/stack/ports.ts";
import { REPO_ROOT } from "../../emulator/stack/stack.ts";
import { topicId } from "../../events/topics.ts";
import { PubSubEventBus } from "../../platform/gcp/pubsub-event-bus.ts";

const HOPS = Number(process.env.BENCH_HOPS ?? 200);
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 50);
const STARTS = Number(process.env.BENCH_STARTS ?? 3);
const WORK = join(REPO_ROOT, ".local/bench/events");
const ECHO = join(REPO_ROOT, "emulator/stack/echo-functions.ts");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(values: number[]): { p50: number; p95: number; n: number } {
  return { p50: percentile(values, 50), p95: percentile(values, 95), n: values.length };
}

async function stackWith(
  delivery: "push" | "pull",
  pubsub: "official" | "pstest" = "official",
): Promise<StackHandle> {
  const dir = join(WORK, `${delivery}-${pubsub}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return launchStack({
    detached: false,
    stateDir: dir,
    logsDir: join(dir, "logs"),
    dataDir: join(dir, "data"),
    ports: "auto",
    delivery,
    pubsub,
    functions: ["advance-run"],
    functionSource: ECHO,
    mlflow: false,
    vertex: false,
    storageBackend: "memory",
    processEnv: { ...process.env, SP_ECHO_FILE: join(dir, "echo.jsonl") },
  });
}

/** Direct POSTs of the CloudEvent the relay would send: the function host alone, no Pub/Sub. */
async function directHops(stack: StackHandle): Promise<number[]> {
  const target = `${stack.info.endpoints.functions["advance-run"]}/`;
  const out: number[] = [];
  for (let i = 0; i < HOPS; i++) {
    const event = pubsubCloudEvent(
      {
        message: {
          data: Buffer.from(String(i)).toString("base64"),
          messageId: `direct-${i}`,
          publishTime: new Date().toISOString(),
        },
        subscription: "projects/p/subscriptions/s",
      },
      "local-project",
      "data-prepared",
    );
    const t0 = performance.now();
    const res = await fetch(target, { method: "POST", headers: event.headers, body: event.body });
    await res.arrayBuffer();
    out.push(performance.now() - t0);
    await sleep(GAP_MS);
  }
  return out;
}

/** Publishes through the pipeline's own bus adapter and reads publish-to-handled from the relay's records. */
async function relayedHops(stack: StackHandle): Promise<number[]> {
  const client = new PipelineClient(stack.info);
  const bus = new PubSubEventBus({ projectId: client.projectId, emulatorHost: stack.info.endpoints.pubsub });
  await client.clearDeliveries();
  const warmup = 10;
  for (let i = 0; i < HOPS + warmup; i++) {
    await bus.publishRaw("dataPrepared", {
      data: Buffer.from(String(i)),
      attributes: { benchSentAt: String(Date.now()), seq: String(i) },
    });
    await sleep(GAP_MS);
  }
  const deadline = Date.now() + 30_000;
  let deliveries = await client.deliveries();
  while (deliveries.length < HOPS + warmup && Date.now() < deadline) {
    await sleep(200);
    deliveries = await client.deliveries();
  }
  await bus.close();
  await client.close();
  if (deliveries.length < HOPS + warmup)
    throw new Error(`only ${deliveries.length} of ${HOPS + warmup} messages were handled`);
  const topic = topicId("dataPrepared");
  return deliveries
    .filter((d) => d.subscription.startsWith(topic) && d.status < 300)
    .sort((a, b) => a.handledAt - b.handledAt)
    .slice(warmup)
    .map((d) => d.handledAt - Number(d.attributes.benchSentAt));
}

/** Milliseconds from spawning a function host until its port accepts connections. */
async function startToReady(source: string, target: string, env: NodeJS.ProcessEnv): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(REPO_ROOT, "emulator/stack/function-host.ts"),
      "--source",
      source,
      "--target",
      target,
      "--port",
      String(port),
    ],
    {
      cwd: REPO_ROOT,
      env,
      stdio: "ignore",
    },
  );
  try {
    while (!(await isListening(port))) {
      if (child.exitCode !== null) throw new Error(`the ${target} host exited with ${child.exitCode}`);
      if (performance.now() - t0 > 120_000) throw new Error(`the ${target} host did not start in 120 s`);
      await sleep(20);
    }
    return performance.now() - t0;
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
  }
}

const f = (x: number): string => x.toFixed(1);

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const lines: string[] = [];
  const say = (l: string): void => {
    console.log(l);
    lines.push(l);
  };
  say(`hops: ${HOPS} messages per mode, one every ${GAP_MS} ms, after 10 warm-up messages`);

  const push = await stackWith("push");
  let direct: number[];
  let pushed: number[];
  try {
    direct = await directHops(push);
    pushed = await relayedHops(push);
  } finally {
    await push.stop();
  }
  const pull = await stackWith("pull");
  let pulled: number[];
  try {
    pulled = await relayedHops(pull);
  } finally {
    await pull.stop();
  }
  const d = summary(direct);
  const row = (name: string, v: number[]): void => {
    const s = summary(v);
    say(
      `| ${name} | ${f(s.p50)} | ${f(s.p95)} | ${(s.p50 / d.p50).toFixed(1)}x | ${(s.p95 / d.p95).toFixed(1)}x |`,
    );
  };
  say("| path | p50 ms | p95 ms | p50 / direct | p95 / direct |");
  say("|---|---|---|---|---|");
  row("direct CloudEvent POST to the function host (baseline)", direct);
  row("Pub/Sub emulator push -> relay -> function (default)", pushed);
  row("Pub/Sub emulator streaming pull -> relay -> function", pulled);

  // Start to ready: the pipeline's functions (functions/index.ts: config, every Google Cloud client) against echo functions.
  const env = {
    ...process.env,
    PIPELINE_MODE: "emulators",
    PUBSUB_EMULATOR_HOST: "127.0.0.1:9",
    STORAGE_EMULATOR_ENDPOINT: "http://127.0.0.1:9",
    VERTEX_ENDPOINT: "127.0.0.1:9",
    METADATA_SERVER_DETECTION: "none",
    SP_ECHO_FILE: join(WORK, "starts.jsonl"),
  };
  const echo: number[] = [];
  const real: Record<string, number[]> = { startRun: [], advanceRun: [], retriggerRun: [], watchJobs: [] };
  for (let i = 0; i < STARTS; i++) {
    echo.push(await startToReady(ECHO, "advanceRun", env));
    for (const target of Object.keys(real))
      real[target]!.push(await startToReady(resolve(REPO_ROOT, "functions/index.ts"), target, env));
  }
  const e = percentile(echo, 50);
  say("");
  say(`function process start to ready, median of ${STARTS} starts each, one at a time:`);
  say("| host | median ms | / echo host |");
  say("|---|---|---|");
  say(`| echo function (functions-framework and tsx only; baseline) | ${f(e)} | 1.0x |`);
  for (const [target, v] of Object.entries(real))
    say(
      `| ${target} (functions/index.ts) | ${f(percentile(v, 50))} | ${(percentile(v, 50) / e).toFixed(1)}x |`,
    );
}

await main();
