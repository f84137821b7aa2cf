// The dead-letter port: a message that can never be handled is acknowledged and kept here with its reason.
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
