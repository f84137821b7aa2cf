// start-run: the bucket's notification of a file finalized under uploads/ starts a run whose id derives from bucket, name and generation.
import { createHash } from "node:crypto";
import { ObjectName, gcsUri } from "../schemas/names.ts";
import type { PipelineConfig } from "../schemas/config.ts";
import { MalformedMessageError, makeEvent } from "../events/codec.ts";
import { MODEL_LINE_METADATA_KEY, UPLOADS_PREFIX } from "../events/object-notification.ts";
import { ModelLine } from "../schemas/model-line.ts";
import { objectNotification, type ObjectNotification } from "./cloud-event.ts";
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
    const modelLine = uploadModelLine(object);
    if (object.metadata === null)
      log.warn(
        `${object.upload}: the notification carries no object payload (payload format NONE), so its ${MODEL_LINE_METADATA_KEY} metadata cannot be read; the config's model line applies`,
      );
    const runId = deriveRunId(object.bucket, object.name, object.generation);
    // The id derives from the run, so a duplicate notification publishes the same event and advance-run drops it.
    const event = makeEvent(
      "run.started",
      { id: `started-${runId}`, runId, attempt: 1, time: deps.clock.now().toISOString() },
      {
        source: { bucket: object.bucket, name: object.name, generation: object.generation },
        input: gcsUri(object.bucket, object.name),
        ...(modelLine ? { modelLine } : {}),
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
    log
      .child({ runId })
      .info(
        `run ${runId} started for ${event.data.input}${modelLine ? ` (model line ${modelLine}, from its ${MODEL_LINE_METADATA_KEY} metadata)` : ""}`,
      );
  });
}

/**
 * The model line an upload names in its custom metadata, or null when it names none. The value is the uploader's: one
 * that is not a model line rejects the upload (kept as a dead letter with the reason) rather than fall back to the
 * config's line, which would register the model under a line the uploader did not ask for.
 */
export function uploadModelLine(object: Pick<ObjectNotification, "upload" | "metadata">): ModelLine | null {
  const entries = Object.entries(object.metadata ?? {}).filter(
    ([key]) => key.toLowerCase() === MODEL_LINE_METADATA_KEY,
  );
  if (entries.length === 0) return null;
  const where = `upload ${object.upload}: custom metadata ${entries.map(([k]) => JSON.stringify(k)).join(", ")}`;
  const values = [...new Set(entries.map(([, v]) => v))];
  if (values.length > 1)
    throw new RejectedMessageError(
      `${where} name different model lines (${values.map(shown).join(", ")}): no run started; upload it again with one ${MODEL_LINE_METADATA_KEY}`,
    );
  const parsed = ModelLine.safeParse(values[0]);
  if (!parsed.success)
    throw new RejectedMessageError(
      `${where} is ${shown(values[0])}, not a model line: ${parsed.error.issues[0]?.message ?? "invalid"}; no run started; upload it again with a valid ${MODEL_LINE_METADATA_KEY} (or none, for the config's line)`,
    );
  return parsed.data;
}

/** A hostile value as it goes into a log line: JSON, cut short. */
function shown(value: unknown): string {
  const text =
    typeof value === "string" ? JSON.stringify(value) : `a ${value === null ? "null" : typeof value}`;
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}
