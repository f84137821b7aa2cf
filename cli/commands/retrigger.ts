// `sentiment-pipeline retrigger RUN --from STEP --reason TEXT`: restarts a run from a step, as retrigger.requested.
import { userInfo } from "node:os";
import { Step } from "../../schemas/names.ts";
import { makeEvent } from "../../events/codec.ts";
import type { RetriggerRequestBody } from "../../events/codec.ts";
import { decide } from "../../functions/core/decide.ts";
import { PubSubEventBus } from "../../platform/gcp/pubsub-event-bus.ts";
import { outputMode, parse, positiveNumber, type Io } from "../args.ts";
import { loadCliConfig, openContext, UsageError, type CliContext } from "../context.ts";
import { openEmbeddedSession } from "../embedded-session.ts";
import { EXIT } from "../exit-codes.ts";
import { printerFor } from "../follow/printers.ts";
import { followAndReport, help, requireRun, runArg } from "./watch.ts";

export const RETRIGGER_USAGE = `usage: sentiment-pipeline retrigger RUN --from STEP --reason TEXT [--by NAME] [--detach] [--json]

Restarts a run from STEP (prepare, tune, train, evaluate or register): publishes retrigger.requested on the
retrigger topic, as a person would with gcloud, then follows the run to its new outcome. The reason is kept in
the run's decision trail and in MLflow. A request the run cannot honour (its manual budget is spent, the step's
inputs are missing) is refused with the reason, exit 1.`;

export async function retriggerCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      from: { type: "string" },
      reason: { type: "string" },
      by: { type: "string" },
      detach: { type: "boolean", default: false },
      timeout: { type: "string" },
    },
    RETRIGGER_USAGE,
  );
  if (values.help) return help(io, RETRIGGER_USAGE);
  const runId = runArg(positionals, RETRIGGER_USAGE);
  const from = Step.safeParse(values.from);
  if (!from.success)
    throw new UsageError(`--from must be one of ${Step.options.join(", ")}\n\n${RETRIGGER_USAGE}`);
  const reason = values.reason?.trim();
  if (!reason)
    throw new UsageError(`--reason is required: it goes into the run's decision trail\n\n${RETRIGGER_USAGE}`);
  const by = values.by ?? safeUser();
  const timeout = positiveNumber(values.timeout, "--timeout");
  const config = loadCliConfig(values, io.env);
  const ctx = openContext(config);
  await requireRun(ctx, runId);
  const before = await precheck(ctx, runId, from.data, reason, by);
  const printer = printerFor(outputMode(values.json, io.out), io.out);
  const tell = (line: string) => (values.json ? io.err.write(`${line}\n`) : printer.note(line));
  const body: RetriggerRequestBody = {
    runId,
    fromStep: from.data,
    reason,
    ...(by ? { requestedBy: by } : {}),
  };

  if (config.runtime.mode !== "embedded") {
    const bus = new PubSubEventBus({
      projectId: config.runtime.projectId,
      topicPrefix: config.runtime.topicPrefix,
      ...(config.runtime.pubsubEmulatorHost ? { emulatorHost: config.runtime.pubsubEmulatorHost } : {}),
    });
    const messageId = await bus.publishRaw("retriggerRequests", {
      data: Buffer.from(JSON.stringify(body)),
      attributes: { runId },
    });
    tell(`published the retrigger request for ${runId} from ${from.data} (message ${messageId})`);
    if (values.detach) return EXIT.running;
    if (!(await applied(ctx, runId, before, 120_000, io.signal)))
      throw new UsageError(
        `the request was published, but run ${runId} has not taken it in 120 s: retrigger-run may have refused it (see its logs and the retrigger topic's dead letters)`,
      );
    return followAndReport(ctx, io, runId, values.json, {
      printer,
      ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
    });
  }

  if (values.detach) throw new UsageError("--detach: in embedded mode the run lives in this process");
  const session = openEmbeddedSession(ctx, tell, null);
  try {
    await session.runtime.retrigger(runId, from.data, reason, by);
    if (!(await applied(session.ctx, runId, before, 10_000, io.signal)))
      throw new UsageError(`run ${runId} refused the retrigger; see ${session.logFile}`);
    tell(`restarted ${runId} from ${from.data}: ${reason}`);
    const done = session.runtime
      .waitForRun(runId, timeout ? timeout * 1000 : 24 * 3600_000)
      .catch(() => null);
    return await followAndReport(session.ctx, io, runId, values.json, {
      printer,
      driven: true,
      ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
      beforeSummary: async () => void (await done),
    });
  } finally {
    await session.close();
  }
}

/** The decision core, asked before publishing: a refused request gets its reason now, not a dead letter later. */
async function precheck(ctx: CliContext, runId: string, from: Step, reason: string, by: string | undefined) {
  const state = (await ctx.ledger.get(runId))?.state;
  if (!state) throw new UsageError(`run ${runId} has no state yet: wait until it has started`);
  const probe = makeEvent(
    "retrigger.requested",
    { runId, attempt: 1 },
    { fromStep: from, reason, ...(by ? { requestedBy: by } : {}) },
  );
  const decision = decide(state, probe, ctx.config);
  if (decision.kind === "rejected") throw new UsageError(`retrigger refused: ${decision.reason}`);
  return state.budgets.manualRetriggersUsed;
}

/** Whether the run took the request: its manual retrigger count went up. */
async function applied(
  ctx: CliContext,
  runId: string,
  before: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    const state = (await ctx.ledger.get(runId))?.state;
    if (state && state.budgets.manualRetriggersUsed > before) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function safeUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
