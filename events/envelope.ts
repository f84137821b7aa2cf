// The envelope every pipeline event travels in: id for dedupe, run and step attempt for ordering, correlation for tracing.
import { z } from "zod";
import { RunId } from "../schemas/names.ts";

export const EnvelopeFields = {
  /** Unique per event; redeliveries keep it, so consumers dedupe on it. */
  id: z
    .string()
    .min(8)
    .max(128)
    .regex(/^[A-Za-z0-9._:-]+$/),
  runId: RunId,
  /** Attempt of the step that produced the event (1 for events outside a step). */
  attempt: z.number().int().positive(),
  time: z.iso.datetime({ offset: true }),
  /** Ties every event of one run together in logs; the run id unless a caller supplies one. */
  correlationId: z.string().min(1).max(128),
  /** Id of the event that caused this one, when there is one. */
  causationId: z.string().min(1).max(128).optional(),
};

/** Builds one event schema: the envelope plus a literal type and its data. */
export function eventSchema<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({ ...EnvelopeFields, type: z.literal(type), data });
}
