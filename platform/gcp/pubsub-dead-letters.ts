// Dead letters in the cloud: onto the dead-letter topic of the topic they came from, else into the bucket.
import { gcsUri, ObjectName } from "../../schemas/names.ts";
import { TOPIC_KEYS, topicId } from "../../events/topics.ts";
import {
  deadLetterFolder,
  fileNamePart,
  UnkeepableLetterError,
  type DeadLetter,
  type DeadLetterSink,
} from "../ports/dead-letters.ts";
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
    // Storage triggers have no topic: the message is kept in the bucket with its reason, under a checked folder.
    const name = `dead-letters/${deadLetterFolder(letter.source)}/${fileNamePart(letter.receivedAt)}-${fileNamePart(letter.messageId)}.json`;
    const problem = ObjectName.safeParse(name);
    if (!problem.success)
      throw new UnkeepableLetterError(`dead letter object ${name}: ${problem.error.issues[0]?.message}`);
    const uri = gcsUri(this.store.bucket, name);
    const body = {
      ...letter,
      data: letter.data.toString("utf8"),
      dataBase64: letter.data.toString("base64"),
    };
    await this.store.write(uri, JSON.stringify(body, null, 2), { contentType: "application/json" });
  }
}
