// Recording fakes of the ports for function tests: they keep what they were asked to do.
import type { PipelineEvent } from "../../events/catalogue.ts";
import type { WireMessage } from "../../events/codec.ts";
import type { TopicKey } from "../../events/topics.ts";
import type { JobSpec } from "../../schemas/job-spec.ts";
import type { EventBus } from "../../platform/ports/event-bus.ts";
import type { JobInfo, JobLauncher } from "../../platform/ports/job-launcher.ts";
import type { DeadLetter, DeadLetterSink } from "../../platform/ports/dead-letters.ts";
import type {
  ModelRegistry,
  ModelVersion,
  RegisterRequest,
  Registration,
} from "../../platform/ports/model-registry.ts";

export class RecordingBus implements EventBus {
  readonly events: PipelineEvent[] = [];
  readonly raw: { topic: TopicKey | { deadLetterOf: TopicKey }; message: WireMessage }[] = [];
  failNext = 0;

  publish(event: PipelineEvent): Promise<string> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new Error("Pub/Sub unavailable"));
    }
    this.events.push(event);
    return Promise.resolve(event.id);
  }

  publishRaw(topic: TopicKey | { deadLetterOf: TopicKey }, message: WireMessage): Promise<string> {
    this.raw.push({ topic, message });
    return Promise.resolve("raw");
  }

  ofType<T extends PipelineEvent["type"]>(type: T): Extract<PipelineEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<PipelineEvent, { type: T }> => e.type === type);
  }
}

export class RecordingLauncher implements JobLauncher {
  readonly specs: JobSpec[] = [];
  readonly cancelled: string[] = [];
  readonly infos = new Map<string, JobInfo>();

  launch(spec: JobSpec): Promise<{ jobId: string; created: boolean }> {
    const created = !this.specs.some((s) => s.jobName === spec.jobName);
    if (created) this.specs.push(spec);
    return Promise.resolve({ jobId: `job-${spec.jobName}`, created });
  }
  cancel(jobName: string): Promise<void> {
    this.cancelled.push(jobName);
    return Promise.resolve();
  }
  describe(jobIdOrName: string): Promise<JobInfo | null> {
    return Promise.resolve(this.infos.get(jobIdOrName) ?? null);
  }
}

export class MemoryDeadLetters implements DeadLetterSink {
  readonly kept: DeadLetter[] = [];
  keep(letter: DeadLetter): Promise<void> {
    this.kept.push(letter);
    return Promise.resolve();
  }
}

/** A registry in memory with the port's contract: a model per line, a champion per line, no duplicate of a run's model. */
export class MemoryRegistry implements ModelRegistry {
  readonly versions: (ModelVersion & { attempt: number })[] = [];
  registerChampion(r: RegisterRequest): Promise<Registration> {
    let v = this.versions.find(
      (x) => x.line === r.line && x.runId === r.runId && x.artifactUri === r.artifactUri,
    );
    const created = !v || v.attempt === r.attempt;
    if (!v) {
      v = {
        modelResource: `models/m-${r.line}`,
        line: r.line,
        version: String(this.versions.filter((x) => x.line === r.line).length + 1),
        artifactUri: r.artifactUri,
        runId: r.runId,
        attempt: r.attempt,
        aliases: [],
        metrics: r.metrics,
        createdAt: new Date().toISOString(),
      };
      this.versions.push(v);
    }
    for (const x of this.versions) if (x.line === r.line) x.aliases = x === v ? ["champion"] : [];
    return Promise.resolve({ ...v, created });
  }
  getChampion(line: string): Promise<ModelVersion | null> {
    return Promise.resolve(
      this.versions.find((v) => v.line === line && v.aliases.includes("champion")) ?? null,
    );
  }
  listVersions(line: string): Promise<ModelVersion[]> {
    return Promise.resolve(this.versions.filter((v) => v.line === line));
  }
}
