// The experience's costs: rendering a run's report (charts included) against reading the run folder alone, and the
// embedded event log's append against the compare-and-swap append the cloud function does, both on local disk.
//
//   npm run bench -- report        (BENCH_REPORTS=10 renders, BENCH_EVENTS=300 appends per method)
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeEvent } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import { appendRunEvent, readRunEvents } from "../../functions/run-event-log.ts";
import { LocalEventLog } from "../../emulator/embedded/local-event-log.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { JsonLogger } from "../../platform/json-logger.ts";
import { loadRunFiles } from "../../report/run-files.ts";
import { buildReportModel } from "../../report/report-model.ts";
import { renderRunReport } from "../../report/render-report.ts";
import { fixtureRun } from "../../test/report/support/fixture-run.ts";

const REPORTS = Number(process.env.BENCH_REPORTS ?? 10);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const WORK = resolve(import.meta.dirname, "../../.local/bench/report");

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: module loading and the first chart compile are not the steady cost
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

rmSync(WORK, { recursive: true, force: true });
const run = await fixtureRun("blocked_bias", join(WORK, "run"));
const deps = { store: run.store, ledger: run.ledger, config: run.config };

// 1. Report: reading and validating the run folder and deriving the model (baseline) against the whole page.
const read = await timed(REPORTS, async () =>
  buildReportModel(await loadRunFiles(run.store, run.ledger, run.runId), run.config, new Date()),
);
let bytes = 0;
const render = await timed(REPORTS, async () => {
  bytes = (await renderRunReport(deps, run.runId)).html.length;
});

// 2. Event log: N progress events of one run, appended in order by each method to its own bucket folder.
const events: PipelineEvent[] = Array.from({ length: EVENTS }, (_, i) =>
  makeEvent(
    "job.progress",
    { runId: run.runId, attempt: 1 },
    { step: "evaluate", unit: "batch", current: i + 1, total: EVENTS },
  ),
);
const casStore = new LocalObjectStore(run.config.runtime.bucket, join(WORK, "cas"));
let t = performance.now();
for (const e of events) await appendRunEvent(casStore, e);
const casMs = performance.now() - t;
const localStore = new LocalObjectStore(run.config.runtime.bucket, join(WORK, "local"));
const log = new LocalEventLog(localStore, new JsonLogger({ write: () => {} }));
t = performance.now();
for (const e of events) log.append(e);
await log.idle();
const localMs = performance.now() - t;
const [cas, local] = await Promise.all([
  readRunEvents(casStore, run.runId),
  readRunEvents(localStore, run.runId),
]);
if (cas.events.length !== EVENTS || local.events.length !== EVENTS)
  throw new Error(`event logs hold ${cas.events.length} and ${local.events.length} events, not ${EVENTS}`);

const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(`report of the blocked_bias fixture run (9 charts), median of ${REPORTS} after a warm-up:`);
console.log(`| read + model (baseline) | full report | ratio | page size |`);
console.log(
  `| ${ms(median(read))} | ${ms(median(render))} | ${(median(render) / median(read)).toFixed(1)}x | ${(bytes / 1024).toFixed(0)} KiB |`,
);
console.log(`\nevent log, ${EVENTS} events of one run appended in order:`);
console.log(`| compare-and-swap append (log-run-events) | embedded O_APPEND queue | ratio |`);
console.log(
  `| ${ms(casMs)} (${ms(casMs / EVENTS)}/event) | ${ms(localMs)} (${ms(localMs / EVENTS)}/event) | ${(casMs / localMs).toFixed(1)}x |`,
);
