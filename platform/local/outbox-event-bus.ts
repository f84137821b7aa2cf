// A job's event bus in embedded mode: events are appended to an outbox file that the local launcher forwards.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { encodeEvent, type WireMessage } from "../../events/codec.ts";
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { TopicKey } from "../../events/topics.ts";
import type { EventBus } from "../ports/event-bus.ts";

/** One line per event: the encoded event exactly as it would be published. */
export class OutboxEventBus implements EventBus {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  publish(event: PipelineEvent): Promise<string> {
    const { data } = encodeEvent(event);
    // Synchronous append: a line is complete on disk before the job can exit or be killed.
    appendFileSync(this.file, `${data.toString("utf8")}\n`);
    return Promise.resolve(event.id);
  }

  publishRaw(_topic: TopicKey | { deadLetterOf: TopicKey }, _message: WireMessage): Promise<string> {
    return Promise.reject(new Error("jobs publish pipeline events only"));
  }
}
