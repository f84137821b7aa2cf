// The observers' dead-letter grants match what their handlers do with a malformed message, topic by topic.
import { describe, expect, it } from "vitest";
import { deliveries } from "../../deploy/deliveries.ts";
import { topicId, type ObserverName } from "../../events/topics.ts";
import type { CloudEventHandler, HandlerDeps } from "../../functions/handler.ts";
import { makeLogRunEvents } from "../../functions/log-run-events.ts";
import type { DeadLetter } from "../../platform/ports/dead-letters.ts";
import type { ObjectStore } from "../../platform/ports/object-store.ts";
import type { RunLedger } from "../../platform/ports/run-ledger.ts";
import { makeReportRun } from "../../functions/report-run.ts";
import { makeTrackRun } from "../../functions/track-run.ts";
import { CapturingLogger } from "../support/capturing-logger.ts";
import { SAMPLE_PROJECT, sampleConfig, samplePlan } from "./support/sample-plan.ts";

/** Never reached: a malformed message fails to decode before an observer touches the bucket. */
const unreachable = new Proxy(
  {},
  {
    get: (_, prop) => {
      throw new Error(`a malformed message reached the bucket (${String(prop)})`);
    },
  },
);

const HANDLERS: Record<ObserverName, (deps: HandlerDeps) => CloudEventHandler> = {
  "log-run-events": (deps) => makeLogRunEvents({ ...deps, store: unreachable as ObjectStore }),
  "track-run": (deps) =>
    makeTrackRun({
      ...deps,
      config: sampleConfig(),
      tracker: null,
      store: unreachable as ObjectStore,
      ledger: unreachable as RunLedger,
    }),
  "report-run": (deps) =>
    makeReportRun({
      ...deps,
      config: sampleConfig(),
      store: unreachable as ObjectStore,
      ledger: unreachable as RunLedger,
    }),
};

describe("observer dead letters", () => {
  const plan = samplePlan();
  const observed = deliveries().filter((d) => d.as === "observer");

  it("grants an observer publish on a dead-letter topic exactly where its handler keeps malformed messages", async () => {
    expect(observed.length).toBeGreaterThan(0);
    const kept = new Map<string, boolean>();
    for (const d of observed) {
      const letters: DeadLetter[] = [];
      const handler = HANDLERS[d.fn as ObserverName]({
        log: new CapturingLogger(),
        deadLetters: { keep: (letter) => Promise.resolve(void letters.push(letter)) },
        clock: { now: () => new Date("2026-01-01T00:00:00Z") },
      });
      await handler({
        id: "cloud-event-1",
        type: "google.cloud.pubsub.topic.v1.messagePublished",
        source: `//pubsub.googleapis.com/projects/${SAMPLE_PROJECT}/topics/${topicId(d.topic)}`,
        data: { message: { data: Buffer.from("{not json").toString("base64"), messageId: "m-1" } },
      });
      expect(
        letters.map((l) => l.source),
        `${d.fn} on ${d.topic}`,
      ).toEqual(letters.length ? [topicId(d.topic)] : []);
      kept.set(`${d.fn} ${d.topic}`, letters.length > 0);
      expect(d.keepsDeadLetters, `${d.fn} on ${d.topic}`).toBe(letters.length > 0);
      const granted = plan.resources.some(
        (r) =>
          r.grant?.role === "roles/pubsub.publisher" &&
          r.grant.on === `dead-letter-topic/${d.topic}` &&
          r.grant.member.includes(`sp-fn-${d.fn}@`),
      );
      expect(granted, `${d.fn} publishes on ${d.topic}'s dead-letter topic`).toBe(letters.length > 0);
    }
    // Both cases occur: some observed topics are a router's to keep, some the observer's own.
    expect(new Set(kept.values())).toEqual(new Set([true, false]));
  });
});
