// Applying the plan against a recorded gcloud stub: idempotent deploys, updates in place, retries, teardown.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GcloudRunner } from "../../deploy/command-runner.ts";
import { applyPlan, DeployError, teardownPlan, type ExecutorOptions } from "../../deploy/executor.ts";
import { deploymentNames } from "../../deploy/names.ts";
import { buildPlan } from "../../deploy/plan/build-plan.ts";
import type { Plan } from "../../deploy/plan/types.ts";
import { DEPLOYED_FUNCTIONS, parseDeploySettings } from "../../deploy/settings.ts";
import { deliveries } from "../../deploy/deliveries.ts";
import { TOPIC_KEYS } from "../../events/topics.ts";
import { CREATE_VERBS, newStubState, type StubState } from "./support/gcloud-stub.ts";
import { InProcessGcloud, startGcloudExecutable } from "./support/install-gcloud-stub.ts";
import { SAMPLE_BUCKET, SAMPLE_PROJECT, sampleConfig, samplePlanInput } from "./support/sample-plan.ts";

const tmp = mkdtempSync(join(tmpdir(), "sp-deploy-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const stageDir = join(tmp, "functions-source");
const names = deploymentNames(sampleConfig());

function planWith(over: Parameters<typeof samplePlanInput>[0] = {}): Plan {
  return buildPlan(samplePlanInput({ stageDir, ...over }));
}

interface Harness {
  options: ExecutorOptions;
  lines: string[];
  stagings: number;
}

function harness(runner: ExecutorOptions["runner"]): Harness {
  const h: Harness = { lines: [], stagings: 0, options: undefined as never };
  h.options = {
    runner,
    log: (line) => h.lines.push(line),
    stageFunctionsSource: () => {
      h.stagings += 1;
      mkdirSync(stageDir, { recursive: true });
      writeFileSync(join(stageDir, "package.json"), "{}");
      return Promise.resolve();
    },
    sleep: () => Promise.resolve(),
  };
  return h;
}

/** Calls that create or change something: the verbs the stub refuses to repeat, plus updates and removals. */
function changingCalls(calls: readonly string[][]): string[][] {
  const verbs = new Set<string>([...CREATE_VERBS, "update", "delete", "remove-iam-policy-binding", "rm"]);
  return calls.filter((argv) => argv.some((a) => verbs.has(a)));
}

function freshState(): StubState {
  return newStubState(SAMPLE_PROJECT, process.cwd());
}

describe("deploy executor against a recorded gcloud executable", () => {
  it("creates everything on the first run and issues no create the second time", async () => {
    const stub = await startGcloudExecutable(join(tmp, "bin"), freshState());
    const plan = planWith();
    const first = harness(new GcloudRunner(stub.bin));
    const report1 = await applyPlan(plan, first.options).finally(() => undefined);
    const afterFirst = stub.state;

    expect(report1.created).toHaveLength(plan.resources.length);
    for (const key of TOPIC_KEYS) {
      expect(afterFirst.resources[`topic/${names.topic(key)}`], key).toBeDefined();
      expect(afterFirst.resources[`topic/${names.deadLetterTopic(key)}`], key).toBeDefined();
    }
    expect(afterFirst.resources[`notification/gs://${names.bucket}/1`]).toMatchObject({
      topic: `//pubsub.googleapis.com/projects/${SAMPLE_PROJECT}/topics/${names.topic("uploadNotifications")}`,
      event_types: ["OBJECT_FINALIZE"],
      object_name_prefix: "uploads/",
      payload_format: "JSON_API_V1",
    });
    expect(afterFirst.resources[`sink/${names.jobStateSink}`]).toBeDefined();
    for (const d of deliveries()) {
      const sub = afterFirst.resources[`subscription/${names.pushSubscription(d.topic, d.fn)}`];
      expect(sub, `${d.topic} -> ${d.fn}`).toMatchObject({
        deadLetterPolicy: {
          deadLetterTopic: `projects/${SAMPLE_PROJECT}/topics/${names.deadLetterTopic(d.topic)}`,
        },
      });
    }
    for (const fn of ["log-run-events", "track-run", "report-run"] as const) {
      expect(afterFirst.resources[`function/${names.function(fn)}`], fn).toBeDefined();
      expect(afterFirst.resources[`sa/${names.serviceAccountEmail(`fn:${fn}`)}`], fn).toBeDefined();
    }
    expect(first.stagings).toBe(1);

    const callsBefore = afterFirst.calls.length;
    const second = harness(new GcloudRunner(stub.bin));
    const report2 = await applyPlan(plan, second.options).finally(() => stub.close());
    const secondCalls = stub.state.calls.slice(callsBefore);

    expect(changingCalls(secondCalls)).toEqual([]);
    expect(secondCalls.length).toBeGreaterThan(0);
    expect(report2.created).toEqual([]);
    expect(report2.updated).toEqual([]);
    expect(report2.unchanged).toHaveLength(plan.resources.length);
    expect(second.stagings).toBe(0);
  });
});

describe("deploy executor (in-process stub)", () => {
  it("updates only what a changed setting touches", async () => {
    const gcloud = new InProcessGcloud(freshState());
    await applyPlan(planWith(), harness(gcloud).options);
    const before = gcloud.state.calls.length;
    const settings = parseDeploySettings({ delivery: { maxDeliveryAttempts: 10 } });
    const h = harness(gcloud);
    const report = await applyPlan(planWith({ settings }), h.options);
    const changes = changingCalls(gcloud.state.calls.slice(before));

    expect(report.created).toEqual([]);
    expect(report.updated.every((k) => k.startsWith("subscription/"))).toBe(true);
    expect(report.updated.length).toBeGreaterThan(0);
    expect(changes.every((argv) => argv.slice(0, 3).join(" ") === "pubsub subscriptions update")).toBe(true);
    expect(h.lines.some((l) => l.includes("max delivery attempts: 5 -> 10"))).toBe(true);
    const sub =
      gcloud.state.resources[`subscription/${names.pushSubscription("runStarted", "advance-run")}`]!;
    expect(sub.deadLetterPolicy).toEqual({
      deadLetterTopic: `projects/${SAMPLE_PROJECT}/topics/${names.deadLetterTopic("runStarted")}`,
      maxDeliveryAttempts: 10,
    });
  });

  it("redeploys the functions, and nothing else, when their source changes", async () => {
    const gcloud = new InProcessGcloud(freshState());
    await applyPlan(planWith(), harness(gcloud).options);
    const h = harness(gcloud);
    const input = samplePlanInput();
    const report = await applyPlan(
      planWith({ sourceHashes: { ...input.sourceHashes, functions: "fedcba9876543210" } }),
      h.options,
    );
    expect(report.updated.sort()).toEqual(DEPLOYED_FUNCTIONS.map((f) => `function/${f}`).sort());
    expect(report.updated).toHaveLength(9);
    expect(report.created).toEqual([]);
    expect(h.stagings).toBe(1);
  });

  it("builds an image again only when its source hash changes", async () => {
    const gcloud = new InProcessGcloud(freshState());
    await applyPlan(planWith(), harness(gcloud).options);
    const input = samplePlanInput();
    const report = await applyPlan(
      planWith({
        sourceHashes: {
          ...input.sourceHashes,
          images: { ...input.sourceHashes.images, jobs: "dddddddddddddddd" },
        },
      }),
      harness(gcloud).options,
    );
    expect(report.created).toEqual(["image/jobs"]);
  });

  it("retries a grant while a new service account is not yet visible to IAM", async () => {
    const state = freshState();
    state.failures.push({
      match: "add-iam-policy-binding run-started --member=serviceAccount:sp-fn-start-run",
      times: 2,
      stderr: "ERROR: INVALID_ARGUMENT: Service account sp-fn-start-run@x does not exist.",
    });
    const h = harness(new InProcessGcloud(state));
    await applyPlan(planWith(), h.options);
    expect(h.lines.filter((l) => l.includes("not yet visible everywhere"))).toHaveLength(2);
    expect(state.policies[`topic/${names.topic("runStarted")}`]).toContainEqual({
      role: "roles/pubsub.publisher",
      members: [`serviceAccount:${names.serviceAccountEmail("fn:start-run")}`],
    });
  });

  it("waits minutes, not seconds, while the new storage agent's grant propagates, and then creates the notification", async () => {
    const state = freshState();
    const agent = "service-123456789012@gs-project-accounts.iam.gserviceaccount.com";
    state.failures.push({
      match: "storage buckets notifications create",
      times: 3,
      stderr: `ERROR: (gcloud.storage.buckets.notifications.create) HTTPError 403: The service account ${agent} does not have permission to publish messages to to the Cloud Pub/Sub topic //pubsub.googleapis.com/projects/p/topics/upload-notifications, or that topic does not exist.`,
    });
    const h = harness(new InProcessGcloud(state));
    const slept: number[] = [];
    h.options.sleep = (ms) => Promise.resolve(void slept.push(ms));
    await applyPlan(planWith(), h.options);
    expect(slept).toEqual([15_000, 30_000, 60_000]);
    expect(
      h.lines.filter((l) => l.includes("publisher grant on the topic is still propagating")),
    ).toHaveLength(3);
    expect(Object.keys(state.resources).filter((k) => k.startsWith("notification/"))).toHaveLength(1);
  });

  it("gives up after 9.25 minutes of provisioning errors and says to run deploy again", async () => {
    const state = freshState();
    state.failures.push({
      match: "storage buckets notifications create",
      times: 100,
      stderr:
        "ERROR: HTTPError 403: x@gs-project-accounts.iam.gserviceaccount.com does not have permission to publish messages",
    });
    const h = harness(new InProcessGcloud(state));
    const slept: number[] = [];
    h.options.sleep = (ms) => Promise.resolve(void slept.push(ms));
    const err = await applyPlan(planWith(), h.options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(/after waiting 555 s[\s\S]*Run deploy again/);
    expect(slept.reduce((a, b) => a + b, 0)).toBe(555_000);
  });

  it("fails at once on a permission error that is not Google's provisioning", async () => {
    const state = freshState();
    state.failures.push({
      match: "pubsub topics create run-started ",
      times: 1,
      stderr: "ERROR: PERMISSION_DENIED: User not authorized to perform this action (pubsub.topics.create)",
    });
    const h = harness(new InProcessGcloud(state));
    const slept: number[] = [];
    h.options.sleep = (ms) => Promise.resolve(void slept.push(ms));
    await expect(applyPlan(planWith(), h.options)).rejects.toThrow(/creating topic run-started failed/);
    expect(slept).toEqual([]);
  });

  it("stops at a missing MLflow secret with the command that creates it, and grants the trackers an existing one", async () => {
    const config = sampleConfig({
      runtime: {
        mlflowTrackingUri: "https://mlflow.example.com",
        mlflowSecrets: { MLFLOW_TRACKING_TOKEN: "mlflow-token" },
      },
    });
    const state = freshState();
    const err = await applyPlan(planWith({ config }), harness(new InProcessGcloud(state)).options).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toContain(
      'printf %s "$VALUE" | gcloud secrets create mlflow-token --data-file=-',
    );
    state.resources["secret/mlflow-token"] = { name: `projects/${SAMPLE_PROJECT}/secrets/mlflow-token` };
    await applyPlan(planWith({ config }), harness(new InProcessGcloud(state)).options);
    expect(state.policies["secret/mlflow-token"]).toEqual([
      {
        role: "roles/secretmanager.secretAccessor",
        members: (["fn:track-run", "job:tune", "job:train"] as const).map(
          (i) => `serviceAccount:${names.serviceAccountEmail(i)}`,
        ),
      },
    ]);
    const deploy = state.calls.find((c) =>
      c.join(" ").startsWith(`functions deploy ${names.function("track-run")} `),
    )!;
    expect(deploy).toContain("--set-secrets=MLFLOW_TRACKING_TOKEN=mlflow-token:latest");
  });

  it("stops on a describe it cannot read, and creates nothing in its place", async () => {
    const state = freshState();
    state.failures.push({
      match: "pubsub topics describe run-started ",
      times: 1,
      stderr: "ERROR: PERMISSION_DENIED: User lacks pubsub.topics.get",
    });
    const err = await applyPlan(planWith(), harness(new InProcessGcloud(state)).options).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(/describing topic run-started failed[\s\S]*PERMISSION_DENIED/);
    expect(state.calls.some((c) => c.join(" ").startsWith("pubsub topics create run-started "))).toBe(false);
  });

  it("refuses a bucket that exists in another region", async () => {
    const state = freshState();
    state.apis.push("storage.googleapis.com");
    state.resources[`bucket/gs://${SAMPLE_BUCKET}`] = {
      name: SAMPLE_BUCKET,
      location: "US-EAST1",
      uniform_bucket_level_access: true,
      public_access_prevention: "enforced",
    };
    const err = await applyPlan(planWith(), harness(new InProcessGcloud(state)).options).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/is in us-east1, not europe-west4/);
  });

  it("tears down what deploy made, the bucket notification too, keeps the bucket, and a second teardown removes nothing", async () => {
    const gcloud = new InProcessGcloud(freshState());
    const plan = planWith();
    await applyPlan(plan, harness(gcloud).options);
    const report = await teardownPlan(plan, { ...harness(gcloud).options, deleteBucket: false });
    const { resources, policies, apis } = gcloud.state;

    const left = Object.keys(resources).filter((k) => !k.startsWith("bucket/") && !k.startsWith("folder/"));
    expect(left).toEqual([]);
    // What the observers added went too: their subscriptions, functions and accounts.
    for (const fn of ["log-run-events", "track-run", "report-run"] as const) {
      expect(report.deleted, fn).toEqual(
        expect.arrayContaining([
          `function/${fn}`,
          `service-account/fn:${fn}`,
          `subscription/runCompleted/${fn}`,
        ]),
      );
    }
    expect(resources[`bucket/gs://${SAMPLE_BUCKET}`]).toBeDefined();
    const projectMembers = (policies.project ?? []).flatMap((b) => b.members);
    expect(projectMembers.filter((m) => m.includes("sp-"))).toEqual([]);
    // The storage agent's grant was on the notification topic, and went with it.
    expect(projectMembers).not.toContain(
      "serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
    );
    expect(report.deleted).toContain("notification/uploads");
    expect((policies[`bucket/gs://${SAMPLE_BUCKET}`] ?? []).flatMap((b) => b.members)).toEqual([]);
    expect(apis.length).toBeGreaterThan(0);
    expect(report.kept).toEqual(expect.arrayContaining(["apis", "bucket"]));

    const before = gcloud.state.calls.length;
    const again = await teardownPlan(plan, { ...harness(gcloud).options, deleteBucket: false });
    expect(changingCalls(gcloud.state.calls.slice(before))).toEqual([]);
    expect(again.deleted).toEqual([]);
  });

  it("removes the bucket too with --delete-bucket", async () => {
    const gcloud = new InProcessGcloud(freshState());
    const plan = planWith();
    await applyPlan(plan, harness(gcloud).options);
    await teardownPlan(plan, { ...harness(gcloud).options, deleteBucket: true });
    expect(Object.keys(gcloud.state.resources)).toEqual([]);
  });

  it("stages the functions' source once, before the first function deploy", async () => {
    const gcloud = new InProcessGcloud(freshState());
    const h = harness(gcloud);
    let callsAtStaging = -1;
    const stage = h.options.stageFunctionsSource;
    h.options.stageFunctionsSource = async () => {
      callsAtStaging = gcloud.state.calls.length;
      await stage();
    };
    await applyPlan(planWith(), h.options);
    const firstDeploy = gcloud.state.calls.findIndex((c) => c[0] === "functions" && c[1] === "deploy");
    expect(h.stagings).toBe(1);
    expect(callsAtStaging).toBeGreaterThan(0);
    expect(callsAtStaging).toBeLessThanOrEqual(firstDeploy);
  });
});
