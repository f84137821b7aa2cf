// The dry-run plan for a sample config: registry-derived messaging, no public access, valid names, least privilege.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TOPICS, TOPIC_KEYS, type ObserverName, type Principal, type TopicDef } from "../../events/topics.ts";
import { ENTRY_POINTS } from "../../functions/register.ts";
import { JOB_STATE_SINK_FILTER } from "../../events/job-state.ts";
import { JOB_STEPS } from "../../schemas/names.ts";
import { InvalidNameError, NAME_KINDS, nameProblem } from "../../deploy/naming-rules.ts";
import { deploymentNames } from "../../deploy/names.ts";
import { PlanError } from "../../deploy/plan/order.ts";
import { renderDeployScript, renderTeardownScript } from "../../deploy/plan/render.ts";
import type { Resource } from "../../deploy/plan/types.ts";
import { DEPLOYED_FUNCTIONS, EVENT_FUNCTIONS, parseDeploySettings } from "../../deploy/settings.ts";
import {
  RETRIGGER_MEMBER,
  SAMPLE_BUCKET,
  SAMPLE_PROJECT,
  flagOf,
  sampleConfig,
  samplePlan,
  samplePlanInput,
} from "./support/sample-plan.ts";

const plan = samplePlan();
const OBSERVERS: readonly ObserverName[] = ["log-run-events", "track-run", "report-run"];
const names = deploymentNames(sampleConfig());
const byKind = (kind: Resource["kind"]) => plan.resources.filter((r) => r.kind === kind);
const allArgs = plan.resources
  .flatMap((r) => [r.describe, ...r.create, ...(r.update ?? []), ...(r.delete ?? [])])
  .flat();
const sa = (identity: Parameters<typeof names.serviceAccountEmail>[0]) =>
  `serviceAccount:${names.serviceAccountEmail(identity)}`;

/** Members granted a role on a resource key. */
function membersWith(role: string, on: string): string[] {
  return plan.resources
    .filter((r) => r.grant?.role === role && r.grant.on === on)
    .map((r) => r.grant!.member);
}

describe("deploy plan: messaging from the topic registry", () => {
  it("has every registry topic with its dead-letter topic and a hold subscription that keeps dead letters", () => {
    const topics = byKind("topic").map((r) => r.name);
    for (const key of TOPIC_KEYS) {
      expect(topics).toContain(names.topic(key));
      expect(topics).toContain(names.deadLetterTopic(key));
      const hold = plan.resources.find((r) => r.name === names.deadLetterHold(key))!;
      expect(flagOf(hold.create[0]!, "topic")).toBe(names.deadLetterTopic(key));
      expect(flagOf(hold.create[0]!, "message-retention-duration")).toBe("7d");
    }
    expect(topics).toHaveLength(2 * TOPIC_KEYS.length);
  });

  it("has one push subscription per consumer and per observer with ack deadline, retry backoff, delivery attempts and dead letters", () => {
    const expected = TOPIC_KEYS.flatMap((key) =>
      [...TOPICS[key].consumers, ...((TOPICS[key] as TopicDef).observers ?? [])].map((fn) => ({ key, fn })),
    );
    // The registry does name observers, and each reads more than one topic: the test would notice them missing.
    for (const fn of OBSERVERS) expect(expected.filter((e) => e.fn === fn).length, fn).toBeGreaterThan(0);
    const pushes = byKind("subscription").filter((r) =>
      r.create[0]!.some((a) => a.startsWith("--push-endpoint=")),
    );
    expect(pushes).toHaveLength(expected.length);
    for (const { key, fn } of expected) {
      const sub = pushes.find((r) => r.name === names.pushSubscription(key, fn));
      expect(sub, `${key} -> ${fn}`).toBeDefined();
      const create = sub!.create[0]!;
      expect(flagOf(create, "topic")).toBe(names.topic(key));
      expect(flagOf(create, "push-endpoint")).toMatch(
        new RegExp(`^\\$\\{URL_${fn.toUpperCase().replace(/-/g, "_")}\\}/projects/`),
      );
      expect(flagOf(create, "push-auth-service-account")).toBe(names.serviceAccountEmail("invoker"));
      expect(Number(flagOf(create, "ack-deadline"))).toBeGreaterThanOrEqual(
        parseDeploySettings({}).functions[fn].timeoutSeconds,
      );
      expect(flagOf(create, "min-retry-delay")).toBe("10s");
      expect(flagOf(create, "max-retry-delay")).toBe("600s");
      expect(flagOf(create, "max-delivery-attempts")).toBe("5");
      expect(flagOf(create, "dead-letter-topic")).toBe(names.deadLetterTopic(key));
      expect(flagOf(create, "expiration-period")).toBe("never");
      // Pub/Sub's agent may forward to the dead-letter topic and acknowledge on the source subscription.
      const agent = `serviceAccount:service-\${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
      expect(membersWith("roles/pubsub.publisher", `dead-letter-topic/${key}`)).toContain(agent);
      expect(membersWith("roles/pubsub.subscriber", sub!.key)).toEqual([agent]);
    }
  });

  it("lets each function publish on the dead-letter topic of what it reads, an observer only where no consumer reads it", () => {
    const agent = `serviceAccount:service-\${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    for (const key of TOPIC_KEYS) {
      const def: TopicDef = TOPICS[key];
      const keepers = def.consumers.length > 0 ? def.consumers : (def.observers ?? []);
      expect(membersWith("roles/pubsub.publisher", `dead-letter-topic/${key}`).sort(), key).toEqual(
        [agent, ...keepers.map((fn) => sa(`fn:${fn}`))].sort(),
      );
    }
  });

  it("grants publish on each topic to exactly the principals the registry names", () => {
    for (const key of TOPIC_KEYS) {
      const expected = (TOPICS[key].publishers as readonly Principal[]).flatMap((p) => {
        if (p === "log-sink") return ["${SINK_WRITER}"];
        if (p === "storage-agent") return ["serviceAccount:${STORAGE_AGENT}"];
        // Cloud Scheduler publishes as its service agent, whose own role covers it: nothing to grant.
        if (p === "scheduler") return [];
        if (p === "user") return [RETRIGGER_MEMBER];
        return [sa(p)];
      });
      expect(membersWith("roles/pubsub.publisher", `topic/${key}`).sort(), key).toEqual(expected.sort());
    }
  });

  it("routes Vertex AI job state entries to the job-states topic with the filter watch-jobs decodes", () => {
    const [sink] = byKind("sink");
    const create = sink!.create[0]!;
    expect(create).toContain(
      `pubsub.googleapis.com/projects/${SAMPLE_PROJECT}/topics/${names.topic("jobStates")}`,
    );
    expect(flagOf(create, "log-filter")).toBe(JOB_STATE_SINK_FILTER);
  });

  it("starts runs from a bucket notification limited to finalized objects under uploads/, pushed to start-run", () => {
    expect(byKind("trigger" as never)).toEqual([]);
    const [notification] = byKind("notification");
    const create = notification!.create[0]!;
    expect(create.slice(0, 5)).toEqual([
      "storage",
      "buckets",
      "notifications",
      "create",
      `gs://${SAMPLE_BUCKET}`,
    ]);
    expect(flagOf(create, "topic")).toBe(
      `projects/${SAMPLE_PROJECT}/topics/${names.topic("uploadNotifications")}`,
    );
    expect(flagOf(create, "event-types")).toBe("OBJECT_FINALIZE");
    expect(flagOf(create, "object-prefix")).toBe("uploads/");
    expect(flagOf(create, "payload-format")).toBe("json");
    expect(create).toContain("--skip-topic-setup");
    const push = byKind("subscription").find((r) => r.key === `subscription/uploadNotifications/start-run`);
    expect(flagOf(push!.create[0]!, "dead-letter-topic")).toBe(names.deadLetterTopic("uploadNotifications"));
  });

  it("lets the Cloud Storage agent publish on the notification topic only, and nothing project-wide", () => {
    const agent = "serviceAccount:${STORAGE_AGENT}";
    const grants = plan.resources.filter((r) => r.grant?.member === agent).map((r) => r.grant);
    expect(grants).toEqual([
      { member: agent, role: "roles/pubsub.publisher", on: "topic/uploadNotifications" },
    ]);
  });
});

describe("deploy plan: access", () => {
  it("grants nothing to allUsers or allAuthenticatedUsers and never allows unauthenticated calls", () => {
    expect(allArgs.filter((a) => /allUsers|allAuthenticatedUsers/.test(a))).toEqual([]);
    expect(allArgs).not.toContain("--allow-unauthenticated");
    for (const fn of byKind("function")) expect(fn.create[0]).toContain("--no-allow-unauthenticated");
    expect(byKind("bucket")[0]!.create[0]).toContain("--public-access-prevention");
  });

  it("creates one service account per function and per job kind", () => {
    const accounts = byKind("service-account").map((r) => r.name);
    for (const fn of DEPLOYED_FUNCTIONS) expect(accounts).toContain(names.serviceAccountId(`fn:${fn}`));
    for (const step of JOB_STEPS) expect(accounts).toContain(names.serviceAccountId(`job:${step}`));
    for (const fn of byKind("function")) {
      const short = fn.key.replace("function/", "") as (typeof DEPLOYED_FUNCTIONS)[number];
      expect(flagOf(fn.create[0]!, "run-service-account")).toBe(names.serviceAccountEmail(`fn:${short}`));
    }
  });

  it("lets only the launching functions start jobs and act as the job accounts", () => {
    // reconcile-runs cancels a job past its step deadline (aiplatform.user holds customJobs.cancel) but never
    // starts one: it cannot act as a job account.
    expect(membersWith("roles/aiplatform.user", "project").sort()).toEqual(
      [sa("fn:advance-run"), sa("fn:retrigger-run"), sa("fn:reconcile-runs")].sort(),
    );
    for (const step of JOB_STEPS) {
      expect(membersWith("roles/iam.serviceAccountUser", `service-account/job:${step}`).sort()).toEqual(
        [sa("fn:advance-run"), sa("fn:retrigger-run")].sort(),
      );
    }
  });

  it("lets the tune job run a hyperparameter tuning job, trials as its own account, only when trials run in parallel", () => {
    const parallel = samplePlan({ config: sampleConfig({ search: { trials: 4, parallelTrials: 2 } }) });
    const granted = (role: string, on: string) =>
      parallel.resources
        .filter((r) => r.grant?.role === role && r.grant.on === on)
        .map((r) => r.grant!.member)
        .sort();
    expect(granted("roles/aiplatform.user", "project")).toEqual(
      [sa("fn:advance-run"), sa("fn:retrigger-run"), sa("fn:reconcile-runs"), sa("job:tune")].sort(),
    );
    expect(granted("roles/iam.serviceAccountUser", "service-account/job:tune")).toEqual(
      [sa("fn:advance-run"), sa("fn:retrigger-run"), sa("job:tune")].sort(),
    );
    // It acts as no other account, and no other job account gains anything.
    for (const step of JOB_STEPS.filter((s) => s !== "tune"))
      expect(granted("roles/iam.serviceAccountUser", `service-account/job:${step}`)).toEqual(
        [sa("fn:advance-run"), sa("fn:retrigger-run")].sort(),
      );
    const extra = parallel.resources.filter((r) => r.grant && !plan.resources.some((p) => p.key === r.key));
    expect(extra.map((r) => `${r.grant!.member} ${r.grant!.role} ${r.grant!.on}`).sort()).toEqual(
      [
        `${sa("job:tune")} roles/aiplatform.user project`,
        `${sa("job:tune")} roles/iam.serviceAccountUser service-account/job:tune`,
      ].sort(),
    );
    // With trials in sequence (the sample config) the tune job calls no Vertex AI API.
    expect(membersWith("roles/aiplatform.user", "project")).not.toContain(sa("job:tune"));
    expect(membersWith("roles/iam.serviceAccountUser", "service-account/job:tune")).not.toContain(
      sa("job:tune"),
    );
  });

  it("grants bucket object roles on the bucket only, and read-only to predict, track-run and reconcile-runs", () => {
    // The only project-level storage role is the builder's, narrowed by condition to the source staging buckets.
    const projectGrants = plan.resources.filter((r) => r.grant?.on === "project").map((r) => r.grant!);
    expect(projectGrants.filter((g) => g.role.startsWith("roles/storage.") && !g.condition)).toEqual([]);
    expect(membersWith("roles/storage.objectViewer", "bucket").sort()).toEqual(
      [sa("fn:predict"), sa("fn:track-run"), sa("fn:reconcile-runs")].sort(),
    );
    const writers = membersWith("roles/storage.objectUser", "bucket");
    expect(writers).not.toContain(sa("fn:predict"));
    expect(writers).not.toContain(sa("fn:track-run"));
    for (const step of JOB_STEPS) expect(writers).toContain(sa(`job:${step}`));
    // The event log and the report are written by their observers.
    expect(writers).toEqual(expect.arrayContaining([sa("fn:log-run-events"), sa("fn:report-run")]));
  });

  it("gives the builder the roles Google lists for a custom build account, narrowed, and no Cloud Build builder role", () => {
    const builder = sa("builder");
    const grants = plan.resources
      .filter((r) => r.grant?.member === builder)
      .map(
        (r) =>
          `${r.grant!.role} on ${r.grant!.on}${r.grant!.condition ? ` if ${r.grant!.condition.title}` : ""}`,
      );
    expect(grants.sort()).toEqual(
      [
        "roles/logging.logWriter on project",
        "roles/artifactregistry.writer on repository/sentiment-pipeline",
        "roles/storage.objectViewer on project if sp-build-sources",
      ].sort(),
    );
    expect(allArgs.filter((a) => a.includes("cloudbuild.builds.builder"))).toEqual([]);
    const viewer = plan.resources.find(
      (r) => r.grant?.role === "roles/storage.objectViewer" && r.grant.member === builder,
    );
    expect(viewer!.grant!.condition!.expression).toBe(
      `resource.name.startsWith("projects/_/buckets/${SAMPLE_PROJECT}_cloudbuild") || resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")`,
    );
    expect(viewer!.create[0]).toContain(
      `--condition=expression=${viewer!.grant!.condition!.expression},title=sp-build-sources`,
    );
    // The functions' images go to that repository, where the builder may write.
    for (const fn of byKind("function"))
      expect(flagOf(fn.create[0]!, "docker-repository")).toBe(
        `projects/${SAMPLE_PROJECT}/locations/${names.region}/repositories/sentiment-pipeline`,
      );
  });

  it("gives each observer its own account with bucket access and its dead-letter topics, and nothing else", () => {
    const expected: Record<ObserverName, string[]> = {
      "log-run-events": [
        "roles/storage.objectUser on bucket",
        ...["runRetriggered", "runCompleted", "jobProgress"].map(
          (k) => `roles/pubsub.publisher on dead-letter-topic/${k}`,
        ),
      ],
      "track-run": [
        "roles/storage.objectViewer on bucket",
        ...["runRetriggered", "runCompleted"].map((k) => `roles/pubsub.publisher on dead-letter-topic/${k}`),
      ],
      "report-run": [
        "roles/storage.objectUser on bucket",
        "roles/pubsub.publisher on dead-letter-topic/runCompleted",
      ],
    };
    for (const fn of OBSERVERS) {
      const granted = plan.resources
        .filter((r) => r.grant?.member === sa(`fn:${fn}`))
        .map((r) => `${r.grant!.role} on ${r.grant!.on}`);
      expect(granted.sort(), fn).toEqual(expected[fn].sort());
      const create = plan.resources.find((r) => r.key === `function/${fn}`)!.create[0]!;
      expect(flagOf(create, "run-service-account")).toBe(names.serviceAccountEmail(`fn:${fn}`));
    }
  });

  it("lets the invoker, and nobody else, call the event functions", () => {
    expect(EVENT_FUNCTIONS).toEqual(expect.arrayContaining([...OBSERVERS, "start-run", "watch-jobs"]));
    for (const fn of EVENT_FUNCTIONS) {
      expect(membersWith("roles/run.invoker", `function/${fn}`), fn).toEqual([sa("invoker")]);
    }
    expect(membersWith("roles/run.invoker", "function/predict")).toEqual([]);
  });
});

describe("deploy plan: names and shape", () => {
  it("has names that pass Google Cloud's rules, for every kind of name", () => {
    const kinds = new Set<string>();
    for (const r of plan.resources) {
      if (!r.nameKind) continue;
      kinds.add(r.nameKind);
      expect(nameProblem(r.nameKind, r.name), `${r.nameKind} ${r.name}`).toBeNull();
    }
    for (const kind of [
      "topic",
      "subscription",
      "service-account",
      "bucket",
      "function",
      "repository",
      "sink",
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    expect(NAME_KINDS).toEqual(expect.arrayContaining([...kinds]));
  });

  it("rejects a topic prefix that would make a service account id longer than 30 characters", () => {
    const config = sampleConfig({ runtime: { topicPrefix: "a-very-long-staging-prefix-" } });
    expect(() => samplePlan({ config })).toThrow(InvalidNameError);
    expect(() => samplePlan({ config })).toThrow(/service-account/);
  });

  it("keeps every service account id within 6-30 characters up to a 10-character prefix, and names the one that breaks", () => {
    for (const fn of OBSERVERS) expect(names.serviceAccountId(`fn:${fn}`)).toBe(`sp-fn-${fn}`);
    const longest = Math.max(...byKind("service-account").map((r) => r.name.length));
    expect(names.serviceAccountId("fn:log-run-events")).toHaveLength(longest);
    expect(longest).toBe(20);
    const ten = samplePlan({ config: sampleConfig({ runtime: { topicPrefix: "staging-a-" } }) });
    for (const r of ten.resources.filter((x) => x.kind === "service-account"))
      expect(nameProblem("service-account", r.name), r.name).toBeNull();
    expect(() => samplePlan({ config: sampleConfig({ runtime: { topicPrefix: "staging-ab-" } }) })).toThrow(
      /invalid service-account name "staging-ab-sp-fn-(log-run-events|reconcile-runs)": must be 6-30 characters long \(is 31\)/,
    );
  });

  it("refuses a config that is not in gcp mode and a retrigger member without a type", () => {
    expect(() => samplePlan({ config: sampleConfig({ runtime: { mode: "embedded" } }) })).toThrow(PlanError);
    expect(() => samplePlan({ retriggerMembers: ["ana@example.com"] })).toThrow(/user:EMAIL/);
  });

  it("orders every resource after what it depends on", () => {
    const seen = new Set<string>();
    for (const r of plan.resources) {
      for (const d of r.dependsOn) expect(seen, `${r.key} needs ${d}`).toContain(d);
      seen.add(r.key);
    }
  });

  it("deploys 2nd gen Node functions with the configured memory, timeout and env", () => {
    const settings = parseDeploySettings({});
    for (const fn of DEPLOYED_FUNCTIONS) {
      const create = plan.resources.find((r) => r.key === `function/${fn}`)!.create[0]!;
      expect(create).toContain("--gen2");
      expect(flagOf(create, "runtime")).toBe("nodejs22");
      expect(flagOf(create, "memory")).toBe(settings.functions[fn].memory);
      expect(flagOf(create, "timeout")).toBe(`${settings.functions[fn].timeoutSeconds}s`);
      expect(flagOf(create, "ingress-settings")).toBe(fn === "predict" ? "all" : "internal-only");
      expect(flagOf(create, "set-env-vars")).toContain(`BUCKET=${SAMPLE_BUCKET}`);
      expect(flagOf(create, "set-env-vars")).toContain("PIPELINE_MODE=gcp");
    }
    // report-run renders charts in Node: a GiB and a whole CPU; the other observers stay small.
    const reportRun = plan.resources.find((r) => r.key === "function/report-run")!.create[0]!;
    expect([flagOf(reportRun, "memory"), flagOf(reportRun, "cpu")]).toEqual(["1Gi", "1"]);
    for (const fn of ["log-run-events", "track-run"]) {
      const create = plan.resources.find((r) => r.key === `function/${fn}`)!.create[0]!;
      expect(flagOf(create, "memory"), fn).toBe("512Mi");
      expect(flagOf(create, "entry-point"), fn).toBe(ENTRY_POINTS[fn as ObserverName]);
    }
  });

  it("passes the MLflow tracking URI to track-run, and warns when there is none or it is this machine's", () => {
    expect(plan.warnings.join("\n")).toMatch(/track-run records nothing: no MLflow tracking URI/);
    const uri = "https://mlflow.example.com";
    const tracked = samplePlan({ config: sampleConfig({ runtime: { mlflowTrackingUri: uri } }) });
    expect(tracked.warnings.join("\n")).not.toMatch(/MLflow/);
    const trackRun = tracked.resources.find((r) => r.key === "function/track-run")!.create[0]!;
    expect(flagOf(trackRun, "set-env-vars")).toContain(`MLFLOW_TRACKING_URI=${uri}`);
    const local = samplePlan({
      config: sampleConfig({ runtime: { mlflowTrackingUri: "http://127.0.0.1:5000" } }),
    });
    expect(local.warnings.join("\n")).toMatch(
      /127\.0\.0\.1:5000 is this machine's: track-run in Cloud Run cannot reach it/,
    );
  });

  it("builds the three images from their Cloud Build configs, or none with --skip-images", () => {
    expect(byKind("image").map((r) => flagOf(r.create[0]!, "config"))).toEqual([
      "deploy/images/trainer/cloudbuild.yaml",
      "deploy/images/jobs/cloudbuild.yaml",
      "deploy/images/serving/cloudbuild.yaml",
    ]);
    expect(samplePlan({ skipImages: true }).resources.filter((r) => r.kind === "image")).toEqual([]);
    const external = samplePlan({
      config: sampleConfig({ images: { trainer: "ghcr.io/someone/trainer:1" } }),
    });
    expect(external.resources.filter((r) => r.kind === "image").map((r) => r.key)).toEqual([
      "image/jobs",
      "image/serving",
    ]);
    expect(external.warnings.join("\n")).toMatch(/trainer image is not in/);
  });

  it("prints a dry run that is a valid bash script holding every create command", () => {
    const script = renderDeployScript(plan);
    execFileSync("bash", ["-n"], { input: script });
    expect(script).toContain("gcloud pubsub topics create run-started --labels=app=sentiment-pipeline");
    expect(script).toContain(`PROJECT_NUMBER="$(gcloud projects describe ${SAMPLE_PROJECT}`);
    expect(script.indexOf("stage-functions")).toBeLessThan(script.indexOf("gcloud functions deploy"));
    const teardown = renderTeardownScript(plan, { deleteBucket: false });
    execFileSync("bash", ["-n"], { input: teardown });
    expect(teardown).toContain("# kept: bucket");
    expect(teardown).not.toContain("gcloud storage rm");
    expect(renderTeardownScript(plan, { deleteBucket: true })).toContain(
      `gcloud storage rm --recursive --all-versions gs://${SAMPLE_BUCKET}`,
    );
  });

  it("retries Google's provisioning errors in the printed plan too, and says where a rerun may be needed", () => {
    const script = renderDeployScript(plan);
    const lines = script.split("\n");
    const create = lines.findIndex((l) => l.includes("gcloud storage buckets notifications create"));
    expect(lines[create]).toMatch(/^\s*provisioning_retry gcloud storage buckets notifications create/);
    expect(lines.slice(create - 4, create).join("\n")).toMatch(
      /may fail for several minutes .*run the script again/,
    );
    for (const fn of byKind("function"))
      expect(script).toContain(`provisioning_retry gcloud functions deploy ${fn.name} `);
    // The retry itself, run by bash: a provisioning error is tried again, any other error stops at once.
    const retry = script.slice(script.indexOf("provisioning_retry() {"), script.indexOf("\n}\n") + 3);
    const dir = mkdtempSync(join(tmpdir(), "sp-retry-"));
    const fake = join(dir, "fake");
    writeFileSync(
      fake,
      `#!/usr/bin/env bash\nn=$(($(cat ${dir}/n 2>/dev/null || echo 0) + 1)); echo $n > ${dir}/n\n` +
        `[ $n -gt 2 ] && exit 0\necho "$1" >&2; exit 1\n`,
      { mode: 0o755 },
    );
    const run = (message: string) => {
      rmSync(join(dir, "n"), { force: true });
      const r = spawnSync("bash", ["-c", `${retry}\nprovisioning_retry ${fake} "$1"`, "bash", message], {
        env: { ...process.env, SP_PROVISIONING_DELAY: "0" },
        encoding: "utf8",
      });
      return { code: r.status, calls: Number(readFileSync(join(dir, "n"), "utf8")) };
    };
    expect(
      run(
        "HTTPError 403: service-1@gs-project-accounts.iam.gserviceaccount.com does not have permission to publish messages",
      ),
    ).toEqual({ code: 0, calls: 3 });
    expect(run("PERMISSION_DENIED: User not authorized to perform this action")).toEqual({
      code: 1,
      calls: 1,
    });
  });

  it("passes MLflow's credentials from Secret Manager to track-run and lets only the trackers read them", () => {
    const withSecrets = samplePlan({
      config: sampleConfig({
        runtime: {
          mlflowTrackingUri: "https://mlflow.example.com",
          mlflowSecrets: { MLFLOW_TRACKING_USERNAME: "mlflow-user", MLFLOW_TRACKING_PASSWORD: "mlflow-pass" },
        },
      }),
    });
    const fns = withSecrets.resources.filter((r) => r.kind === "function");
    const trackRun = fns.find((r) => r.key === "function/track-run")!;
    expect(flagOf(trackRun.create[0]!, "set-secrets")).toBe(
      "MLFLOW_TRACKING_PASSWORD=mlflow-pass:latest,MLFLOW_TRACKING_USERNAME=mlflow-user:latest",
    );
    for (const fn of fns.filter((r) => r !== trackRun))
      expect(flagOf(fn.create[0]!, "set-secrets")).toBeUndefined();
    // No credential variable is ever set in plain text.
    const args = withSecrets.resources.flatMap((r) => [...r.create, ...(r.update ?? [])]).flat();
    expect(
      args.filter((a) => a.includes("--set-env-vars") && a.includes("MLFLOW_TRACKING_PASSWORD")),
    ).toEqual([]);
    const readers = withSecrets.resources
      .filter((r) => r.grant?.role === "roles/secretmanager.secretAccessor")
      .map((r) => `${r.grant!.member} on ${r.grant!.on}`);
    expect(readers.sort()).toEqual(
      ["mlflow-pass", "mlflow-user"]
        .flatMap((id) =>
          (["fn:track-run", "job:tune", "job:train"] as const).map((i) => `${sa(i)} on secret/${id}`),
        )
        .sort(),
    );
    expect(withSecrets.resources.find((r) => r.kind === "apis")!.create[0]).toContain(
      "secretmanager.googleapis.com",
    );
    // A secret deploy cannot find stops the printed plan with the command that creates it.
    const script = renderDeployScript(withSecrets);
    expect(script).toContain("gcloud secrets create mlflow-pass --data-file=-");
    execFileSync("bash", ["-n"], { input: script });
  });

  it("refuses a tracking URI with credentials in it, and never prints them", () => {
    const err = (() => {
      try {
        samplePlan({
          config: sampleConfig({
            runtime: { mlflowTrackingUri: "https://zoe-tracker:s3cr3t-pw@mlflow.example.com" },
          }),
        });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(PlanError);
    expect(err!.message).toContain("https://***:***@mlflow.example.com/");
    expect(err!.message).not.toContain("s3cr3t-pw");
    expect(err!.message).not.toContain("zoe-tracker");
  });

  it("names a second deployment apart with the topic prefix", () => {
    const staging = samplePlan({ config: sampleConfig({ runtime: { topicPrefix: "stg-" } }) });
    const prodNames = new Set(
      plan.resources
        .filter((r) => r.nameKind && r.nameKind !== "bucket" && r.nameKind !== "repository")
        .map((r) => r.name),
    );
    const clashes = staging.resources.filter((r) => r.nameKind && prodNames.has(r.name));
    expect(clashes.map((r) => r.name)).toEqual([]);
    expect(samplePlanInput().retriggerMembers).toEqual([RETRIGGER_MEMBER]);
  });
});

describe("deploy plan: the reconcile schedule", () => {
  it("creates a Cloud Scheduler job that ticks reconcile-runs every 5 minutes, and tears it down", () => {
    const job = plan.resources.find((r) => r.kind === "scheduler-job")!;
    expect(job.create[0]!.slice(0, 5)).toEqual([
      "scheduler",
      "jobs",
      "create",
      "pubsub",
      "sp-reconcile-runs",
    ]);
    expect(job.create[0]).toEqual(
      expect.arrayContaining([
        "--schedule=*/5 * * * *",
        `--topic=projects/${plan.project}/topics/reconcile-ticks`,
        "--message-body={}",
        `--location=${plan.region}`,
      ]),
    );
    expect(job.dependsOn).toContain("topic/reconcileTicks");
    expect(job.delete?.[0]?.slice(0, 4)).toEqual(["scheduler", "jobs", "delete", "sp-reconcile-runs"]);
    expect(plan.resources.find((r) => r.key === "function/reconcile-runs")).toBeDefined();
    expect(plan.resources.find((r) => r.key === "subscription/reconcileTicks/reconcile-runs")).toBeDefined();
    expect(renderTeardownScript(plan, { deleteBucket: false })).toContain(
      "gcloud scheduler jobs delete sp-reconcile-runs",
    );
  });
});
