// The Eventarc trigger that sends every finalized object of the bucket to start-run (which ignores names outside uploads/).
import type { PlanContext } from "./context.ts";
import { keys, ref, vars } from "./context.ts";
import { bindingKey, iamBinding, labelList, projectPolicy, sa } from "./commands.ts";
import type { Resource } from "./types.ts";

export const UPLOAD_EVENT_TYPE = "google.cloud.storage.object.v1.finalized";

interface TriggerDescription {
  destination?: { cloudRun?: { service?: string; region?: string } };
  eventFilters?: Array<{ attribute?: string; value?: string }>;
  serviceAccount?: string;
}

export function uploadTriggerResources(ctx: PlanContext): Resource[] {
  const { g, names, settings } = ctx;
  const invokerEmail = names.serviceAccountEmail("invoker");
  const storageAgent = `serviceAccount:${ref(vars.storageAgent)}`;
  const service = names.function("start-run");
  const destination = [
    `--destination-run-service=${service}`,
    `--destination-run-region=${names.region}`,
    `--event-filters=type=${UPLOAD_EVENT_TYPE}`,
    `--event-filters=bucket=${names.bucket}`,
    `--service-account=${invokerEmail}`,
  ];
  // Cloud Storage triggers reach Eventarc through Pub/Sub: the storage agent must be allowed to publish (documented
  // requirement, granted on the project). Other Eventarc storage triggers need it too, so teardown keeps it.
  const agentPublisher = iamBinding({
    member: storageAgent,
    role: "roles/pubsub.publisher",
    target: projectPolicy(g),
    doc: "lets Cloud Storage publish the bucket's events for Eventarc",
    dependsOn: [keys.apis],
    keepOnTeardown: "other Eventarc Cloud Storage triggers in the project rely on it",
  });
  const trigger: Resource = {
    key: keys.trigger,
    kind: "trigger",
    name: names.uploadTrigger,
    nameKind: "trigger",
    doc: `sends ${UPLOAD_EVENT_TYPE} events of gs://${names.bucket} to ${service}`,
    dependsOn: [
      keys.bucket,
      keys.fn("start-run"),
      keys.serviceAccount("invoker"),
      agentPublisher.key,
      bindingKey("project", "roles/eventarc.eventReceiver", sa(invokerEmail)),
      bindingKey(keys.fn("start-run"), "roles/run.invoker", sa(invokerEmail)),
    ],
    describe: g.read("eventarc", "triggers", "describe", names.uploadTrigger, `--location=${names.region}`),
    drift: (described) => {
      const d = described as TriggerDescription;
      const filters = new Map((d.eventFilters ?? []).map((f) => [f.attribute, f.value]));
      const diffs: string[] = [];
      if (d.destination?.cloudRun?.service !== service)
        diffs.push(`destination ${d.destination?.cloudRun?.service ?? "unset"}`);
      if (filters.get("type") !== UPLOAD_EVENT_TYPE || filters.get("bucket") !== names.bucket)
        diffs.push(`filters ${JSON.stringify([...filters])}`);
      if (d.serviceAccount !== invokerEmail) diffs.push(`service account ${d.serviceAccount ?? "unset"}`);
      return Promise.resolve(diffs);
    },
    create: [
      g.write(
        "eventarc",
        "triggers",
        "create",
        names.uploadTrigger,
        `--location=${names.region}`,
        ...destination,
        `--labels=${labelList(settings.labels)}`,
      ),
    ],
    update: [
      g.write(
        "eventarc",
        "triggers",
        "update",
        names.uploadTrigger,
        `--location=${names.region}`,
        ...destination,
      ),
    ],
    delete: [g.write("eventarc", "triggers", "delete", names.uploadTrigger, `--location=${names.region}`)],
  };
  return [agentPublisher, trigger];
}
