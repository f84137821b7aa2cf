// Fuzzing the name doors: an object name that passes ObjectName stays inside the bucket folder, a dead-letter source
// becomes one folder inside the dead-letter root or is refused, and a push's source never yields a path-like topic.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, sep } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ObjectName } from "../../schemas/names.ts";
import { LocalObjectStore } from "../../platform/local/local-object-store.ts";
import { LocalDeadLetterSink } from "../../platform/local/local-dead-letters.ts";
import { deadLetterFolder, UnkeepableLetterError } from "../../platform/ports/dead-letters.ts";
import { topicOf } from "../../functions/handler.ts";
import { hostilePath, RUNS } from "./support.ts";

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

describe("fuzz: an object name", () => {
  const root = mkdtempSync(join(tmpdir(), "sp-fuzz-bucket-"));
  const store = new LocalObjectStore("fuzz-bucket", root);

  it("that ObjectName accepts maps to a path inside the bucket folder", () => {
    fc.assert(
      fc.property(fc.oneof(hostilePath, fc.string({ unit: "binary", maxLength: 30 })), (name) => {
        if (!ObjectName.safeParse(name).success) return;
        expect(inside(root, store.pathOf(`gs://fuzz-bucket/${name}`))).toBe(true);
      }),
      { numRuns: RUNS.cheap },
    );
  });
});

describe("fuzz: a dead-letter source", () => {
  it("is one folder inside the dead-letter root, or refused before it becomes a path", () => {
    fc.assert(
      fc.property(fc.oneof(hostilePath, fc.string({ unit: "binary", maxLength: 20 })), (source) => {
        let folder: string;
        try {
          folder = deadLetterFolder(source);
        } catch (err) {
          expect(err).toBeInstanceOf(UnkeepableLetterError);
          return;
        }
        expect(folder.includes("/") || folder === "." || folder === "..").toBe(false);
        expect(relative("/root", join("/root", folder))).toBe(folder);
      }),
      { numRuns: RUNS.cheap },
    );
  });

  it("written by the local sink lands under its root, whatever the source and message id", async () => {
    const parent = mkdtempSync(join(tmpdir(), "sp-fuzz-dl-"));
    const root = join(parent, "dead-letters");
    const sink = new LocalDeadLetterSink(root);
    await fc.assert(
      fc.asyncProperty(
        // ".." is the source that once climbed out: drawn often, not left to chance.
        fc.oneof(fc.constantFrom("..", "."), hostilePath),
        fc.oneof(hostilePath, fc.string({ maxLength: 20 })),
        async (source, messageId) => {
          const letter = {
            source,
            messageId,
            data: Buffer.from("x"),
            attributes: {},
            reason: "r",
            receivedAt: "2026-01-01T00:00:00.000Z",
          };
          await sink.keep(letter).catch((err: unknown) => expect(err).toBeInstanceOf(UnkeepableLetterError));
          expect(readdirSync(parent).filter((f) => f !== "dead-letters")).toEqual([]);
        },
      ),
      { numRuns: RUNS.io },
    );
  });

  it("taken from a push's source is a topic id or nothing", () => {
    fc.assert(
      fc.property(hostilePath, (tail) => {
        const topic = topicOf({ source: `//pubsub.googleapis.com/projects/p/topics/${tail}` });
        if (topic !== null) expect(() => deadLetterFolder(topic)).not.toThrow();
      }),
      { numRuns: RUNS.cheap },
    );
  });
});
