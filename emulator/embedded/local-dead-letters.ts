// Dead letters as files: <root>/<source>/<time>-<messageId>.json, with the reason and the message as received.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DeadLetter, DeadLetterSink } from "../../functions/ports/dead-letters.ts";

export class LocalDeadLetterSink implements DeadLetterSink {
  readonly root: string;
  readonly kept: DeadLetter[] = [];

  constructor(root: string) {
    this.root = resolve(root);
  }

  async keep(letter: DeadLetter): Promise<void> {
    this.kept.push(letter);
    const dir = join(this.root, letter.source.replace(/[^A-Za-z0-9._-]/g, "_"));
    await mkdir(dir, { recursive: true });
    const file = join(
      dir,
      `${letter.receivedAt.replace(/[:.]/g, "-")}-${letter.messageId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`,
    );
    const body = {
      source: letter.source,
      messageId: letter.messageId,
      reason: letter.reason,
      receivedAt: letter.receivedAt,
      attributes: letter.attributes,
      data: letter.data.toString("utf8"),
      dataBase64: letter.data.toString("base64"),
    };
    await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  }
}
