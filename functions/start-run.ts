// start-run: an object finalized under uploads/ starts a run whose id derives from bucket, name and generation.
import { createHash } from "node:crypto";
import { ObjectName, gcsUri } from "../schemas/names.ts";
import type { PipelineConfig } from "../schemas/config.ts";
import { MalformedMessageError, makeEvent } from "../events/codec.ts";
import { finalizedObject } from "./cloud-event.ts";
import { handleWithDeadLetters, type CloudEventHandler, type HandlerDeps } from "./handler.ts";
import type { EventBus } from "./ports/event-bus.ts";

export const UPLOADS_PREFIX = "uploads/";

export interface StartRunDeps extends HandlerDeps {
  config: PipelineConfig;
  bus: EventBus;
}

/** A readable, unique run id: the file's name, then a hash of bucket, name and generation (a re-upload is a new run). */
export function deriveRunId(bucket: string, name: string, generation: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1).replace(/\.(jsonl\.gz|jsonl|csv|gz|json)$/i, "");
  const slug = base
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/, "");
  const hash = createHash("sha256").update(`${bucket}/${name}#${generation}`).digest("hex").slice(0, 10);
  return `${slug || "run"}-${hash}`;
}

export function makeStartRun(deps: StartRunDeps): CloudEventHandler {
  return handleWithDeadLetters("start-run", deps, async (cloudEvent) => {
    const { object } = finalizedObject(cloudEvent);
    if (!object) return;
    const log = deps.log.child({ component: "start-run" });
    if (!object.name.startsWith(UPLOADS_PREFIX) || object.name.endsWith("/")) {
      log.debug(`ignored ${object.name}: not an upload`);
      return;
    }
    if (object.bucket !== deps.config.runtime.bucket) {
      log.warn(
        `ignored gs://${object.bucket}/${object.name}: the pipeline's bucket is ${deps.config.runtime.bucket}`,
      );
      return;
    }
    const name = ObjectName.safeParse(object.name);
    if (!name.success)
      throw new MalformedMessageError(
        `unsafe object name ${JSON.stringify(object.name)}: ${name.error.issues[0]?.message}`,
      );
    const runId = deriveRunId(object.bucket, object.name, object.generation);
    // The id derives from the run, so a duplicate notification publishes the same event and advance-run drops it.
    const event = makeEvent(
      "run.started",
      { id: `started-${runId}`, runId, attempt: 1, time: deps.clock.now().toISOString() },
      {
        source: { bucket: object.bucket, name: object.name, generation: object.generation },
        input: gcsUri(object.bucket, object.name),
      },
    );
    await deps.bus.publish(event);
    log.child({ runId }).info(`run ${runId} started for ${event.data.input}`);
  });
}
