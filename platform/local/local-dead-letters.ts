// Dead letters as files: <root>/<source>/<time>-<messageId>.json, with the reason and the message as received.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import {
  deadLetterFolder,
  fileNamePart,
  UnkeepableLetterError,
  type DeadLetter,
  type DeadLetterSink,
} from "../ports/dead-letters.ts";

export class LocalDeadLetterSink implements DeadLetterSink {
  readonly root: string;
  readonly kept: DeadLetter[] = [];

  constructor(root: string) {
    this.root = resolve(root);
  }

  async keep(letter: DeadLetter): Promise<void> {
    const dir = join(this.root, deadLetterFolder(letter.source));
    const file = join(
      dir,
      `${fileNamePart(letter.receivedAt.replace(/[:.]/g, "-"))}-${fileNamePart(letter.messageId)}.json`,
    );
    // The names above cannot climb out; this states the promise where the path is made.
    if (relative(this.root, file).startsWith("..") || dirname(file) !== dir)
      throw new UnkeepableLetterError(`dead letter path ${file} is outside ${this.root}`);
    this.kept.push(letter);
    await mkdir(dir, { recursive: true });
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
