// start-run: the bucket's notification of a file finalized under uploads/ starts a run whose id derives from bucket, name and generation.
import { createHash } from "node:crypto";
import { ObjectName, gcsUri } from "../schemas/names.ts";
import type { PipelineConfig } from "../schemas/config.ts";
import { MalformedMessageError, makeEvent } from "../events/codec.ts";
import { UPLOADS_PREFIX } from "../events/object-notification.ts";
import { objectNotification } from "./cloud-event.ts";
import {
  RejectedMessageError,
  handleWithDeadLetters,
  type CloudEventHandler,
  type HandlerDeps,
} from "./handler.ts";
import type { EventBus } from "../platform/ports/event-bus.ts";

export { UPLOADS_PREFIX };

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
    const object = objectNotification(cloudEvent);
    const log = deps.log.child({ component: "start-run" });
    if (object.eventType !== "OBJECT_FINALIZE") {
      log.debug(`ignored ${object.eventType} of ${object.upload}: only finalized uploads start runs`);
      return;
    }
    // The notification is limited to uploads/; anything else means it was set up without the prefix.
    if (!object.name.startsWith(UPLOADS_PREFIX) || object.name.endsWith("/")) {
      log.warn(
        `ignored ${object.upload}: not an upload (is the bucket notification limited to ${UPLOADS_PREFIX}?)`,
      );
      return;
    }
    if (object.bucket !== deps.config.runtime.bucket) {
      log.warn(`ignored ${object.upload}: the pipeline's bucket is ${deps.config.runtime.bucket}`);
      return;
    }
    const name = ObjectName.safeParse(object.name);
    if (!name.success)
      throw new MalformedMessageError(
        `unsafe object name ${JSON.stringify(object.name)}: ${name.error.issues[0]?.message}`,
      );
    const maxAge = deps.config.runtime.uploadMaxAgeSeconds;
    const ageSeconds = object.time ? (deps.clock.now().getTime() - Date.parse(object.time)) / 1000 : 0;
    if (ageSeconds > maxAge)
      throw new RejectedMessageError(
        `upload ${object.upload} was notified at ${object.time}, ${Math.round(ageSeconds)} s ago, past the ` +
          `${maxAge} s cutoff (runtime.uploadMaxAgeSeconds): no run started; upload the file again to start one`,
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
    try {
      await deps.bus.publish(event);
    } catch (err) {
      // Pub/Sub redelivers; a failure that persists ends on the dead-letter topic, and its reason names the upload.
      throw new Error(`starting run ${runId} for ${object.upload}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    log.child({ runId }).info(`run ${runId} started for ${event.data.input}`);
  });
}
