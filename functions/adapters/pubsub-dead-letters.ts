// Dead letters in the cloud: onto the dead-letter topic of the topic they came from, else into the bucket.
import { gcsUri } from "../../schemas/names.ts";
import { TOPIC_KEYS, topicId } from "../../events/topics.ts";
import type { DeadLetter, DeadLetterSink } from "../ports/dead-letters.ts";
import type { EventBus } from "../ports/event-bus.ts";
import type { ObjectStore } from "../ports/object-store.ts";

export class PubSubDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly bus: EventBus,
    private readonly store: ObjectStore,
    private readonly topicPrefix = "",
  ) {}

  async keep(letter: DeadLetter): Promise<void> {
    const key = TOPIC_KEYS.find((k) => topicId(k, this.topicPrefix) === letter.source);
    const attributes = {
      ...letter.attributes,
      deadLetterReason: letter.reason.slice(0, 1000),
      sourceMessageId: letter.messageId,
    };
    if (key) {
      await this.bus.publishRaw({ deadLetterOf: key }, { data: letter.data, attributes });
      return;
    }
    // Storage triggers have no topic: the message is kept in the bucket with its reason.
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");
    const uri = gcsUri(
      this.store.bucket,
      `dead-letters/${safe(letter.source)}/${safe(letter.receivedAt)}-${safe(letter.messageId)}.json`,
    );
    const body = {
      ...letter,
      data: letter.data.toString("utf8"),
      dataBase64: letter.data.toString("base64"),
    };
    await this.store.write(uri, JSON.stringify(body, null, 2), { contentType: "application/json" });
  }
}
