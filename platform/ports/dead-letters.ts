// The dead-letter port: a message that can never be handled is acknowledged and kept here with its reason.
import { topicIdProblem } from "../../schemas/names.ts";
export interface DeadLetter {
  /** Topic id the message arrived on, or the trigger's name. */
  source: string;
  messageId: string;
  data: Buffer;
  attributes: Record<string, string>;
  reason: string;
  receivedAt: string;
}

export interface DeadLetterSink {
  keep(letter: DeadLetter): Promise<void>;
}

/**
 * A letter a sink cannot keep because of what it says, not because storage failed: retrying cannot help, so the
 * handler logs it at ERROR and acknowledges it rather than answering 500 for ever.
 */
export class UnkeepableLetterError extends Error {
  override readonly name = "UnkeepableLetterError";
}

/**
 * The folder a source's dead letters go to: the source itself when it is a valid Pub/Sub topic id (function names
 * are too), which can never be `..` or hold a `/`; anything else is refused before it becomes a path.
 */
export function deadLetterFolder(source: string): string {
  const problem = topicIdProblem(source);
  if (problem)
    throw new UnkeepableLetterError(
      `dead-letter source ${JSON.stringify(source.slice(0, 300))} is not a topic id: ${problem}`,
    );
  return source;
}

/** A message id or time as part of a file name (never its start): only safe characters, never empty, bounded. */
export function fileNamePart(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200) || "_";
}
