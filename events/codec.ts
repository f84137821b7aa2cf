// Encode and decode events: the one place where bytes off the wire become a validated event.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
  PipelineEvent,
  EVENT_SCHEMAS,
  RetriggerRequested,
  type EventType,
  type EventOf,
  type EventData,
} from "./catalogue.ts";
import { RunId, Step } from "../schemas/names.ts";

/** A message that can never be handled, however often it is redelivered: acknowledge it and keep a copy. */
export class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
}

export interface WireMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

export function encodeEvent(event: PipelineEvent): WireMessage {
  const parsed = PipelineEvent.parse(event);
  return {
    data: Buffer.from(JSON.stringify(parsed), "utf8"),
    attributes: { type: parsed.type, runId: parsed.runId, eventId: parsed.id },
  };
}

export function decodeEvent(data: Buffer | string): PipelineEvent {
  const json = parseJson(data);
  const result = PipelineEvent.safeParse(json);
  if (!result.success) throw new MalformedMessageError(`invalid event: ${formatIssues(result.error)}`);
  return result.data;
}

/** Decodes an event and checks that it is of the expected type (a topic carries one type). */
export function decodeEventOf<T extends EventType>(type: T, data: Buffer | string): EventOf<T> {
  const json = parseJson(data);
  const result = (EVENT_SCHEMAS[type] as unknown as z.ZodType<EventOf<T>>).safeParse(json);
  if (!result.success)
    throw new MalformedMessageError(`invalid ${type} event: ${formatIssues(result.error)}`);
  return result.data;
}

/** What a person publishes with `gcloud pubsub topics publish`: no envelope needed. */
export const RetriggerRequestBody = z.object({
  runId: RunId,
  fromStep: Step,
  reason: z.string().min(1).max(1000),
  requestedBy: z.string().max(200).optional(),
});
export type RetriggerRequestBody = z.infer<typeof RetriggerRequestBody>;

/**
 * A retrigger request arrives either as a full event or as a plain body; the Pub/Sub message id keys the
 * plain form, so a redelivered request is still deduplicated.
 */
export function decodeRetriggerRequest(
  data: Buffer | string,
  messageId: string,
  publishTime?: string,
): EventOf<"retrigger.requested"> {
  const json = parseJson(data);
  const asEvent = RetriggerRequested.safeParse(json);
  if (asEvent.success) return asEvent.data;
  const body = RetriggerRequestBody.safeParse(json);
  if (!body.success)
    throw new MalformedMessageError(`invalid retrigger request: ${formatIssues(body.error)}`);
  const data_: EventData<"retrigger.requested"> = { fromStep: body.data.fromStep, reason: body.data.reason };
  if (body.data.requestedBy !== undefined) data_.requestedBy = body.data.requestedBy;
  return {
    id: `msg-${messageId.replace(/[^A-Za-z0-9._:-]/g, "")}`.slice(0, 128).padEnd(8, "0"),
    type: "retrigger.requested",
    runId: body.data.runId,
    attempt: 1,
    time: publishTime ?? new Date().toISOString(),
    correlationId: body.data.runId,
    data: data_,
  };
}

function parseJson(data: Buffer | string): unknown {
  const text = typeof data === "string" ? data : data.toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new MalformedMessageError(`message is not JSON: ${(err as Error).message}`);
  }
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

export interface NewEventFields {
  runId: string;
  attempt: number;
  correlationId?: string;
  causationId?: string;
  id?: string;
  time?: string;
}

/** Builds a validated event with a fresh id (or the given one) and the current time (or the given one). */
export function makeEvent<T extends EventType>(
  type: T,
  fields: NewEventFields,
  data: EventData<T>,
): EventOf<T> {
  const event: Record<string, unknown> = {
    id: fields.id ?? randomUUID(),
    type,
    runId: fields.runId,
    attempt: fields.attempt,
    time: fields.time ?? new Date().toISOString(),
    correlationId: fields.correlationId ?? fields.runId,
    data,
  };
  if (fields.causationId !== undefined) event.causationId = fields.causationId;
  return EVENT_SCHEMAS[type].parse(event) as EventOf<T>;
}
