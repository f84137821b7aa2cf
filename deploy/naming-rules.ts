// Google Cloud's naming rules as validators: a plan with a name the cloud would reject fails before any call.
//
// Sources (read 2025/2026 through stored copies of the documentation and the installed SDK):
// - Pub/Sub topic and subscription ids: google.pubsub.v1 Topic.name / Subscription.name field documentation.
// - Service account ids: google.iam.admin.v1 CreateServiceAccountRequest.account_id.
// - Buckets: https://cloud.google.com/storage/docs/buckets#naming.
// - Functions (2nd gen): gcloud SDK 528 api_lib/functions/v1/util.py (_FUNCTION_NAME_RE) and, because a 2nd gen
//   function is a Cloud Run service of the same name, command_lib/run/flags.py (ValidateResource: lower case).
// - Log sinks: https://cloud.google.com/logging/docs/reference/v2/rest/v2/sinks (LogSink.name).
// - Artifact Registry repositories, Eventarc triggers: lower-case letters, digits and hyphens, starting with a
//   letter and ending with a letter or digit, at most 63 characters (the stricter of the documented forms).
// - Labels: https://cloud.google.com/resource-manager/docs/labels-overview#requirements.
import { topicIdProblem } from "../schemas/names.ts";

export const NAME_KINDS = [
  "topic",
  "subscription",
  "service-account",
  "bucket",
  "function",
  "repository",
  "sink",
  "trigger",
  "label-key",
  "label-value",
] as const;
export type NameKind = (typeof NAME_KINDS)[number];

type Rule = (name: string) => string | null;

// The functions check topic ids in pushes by the same rule, so it lives with the contracts.
const pubsubId: Rule = topicIdProblem;

const serviceAccountId: Rule = (name) => {
  if (name.length < 6 || name.length > 30) return `must be 6-30 characters long (is ${name.length})`;
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])$/.test(name)) {
    return "must match [a-z]([-a-z0-9]*[a-z0-9]): lower-case letters, digits and '-', starting with a letter";
  }
  return null;
};

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

const bucketName: Rule = (name) => {
  const dotted = name.includes(".");
  if (name.length < 3 || name.length > (dotted ? 222 : 63)) {
    return `must be 3-${dotted ? 222 : 63} characters long (is ${name.length})`;
  }
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) {
    return "may hold only lower-case letters, digits, '-', '_' and '.', and must start and end with a letter or digit";
  }
  if (dotted && name.split(".").some((part) => part.length === 0 || part.length > 63)) {
    return "each dot-separated part must be 1-63 characters long";
  }
  if (IPV4.test(name)) return "must not look like an IP address";
  if (name.startsWith("goog")) return 'must not start with "goog"';
  if (/g[o0][o0]g[l1]e/.test(name)) return 'must not contain "google" or a close misspelling of it';
  return null;
};

/** Lower-case letters, digits and hyphens; a letter first, no hyphen last; at most 63 characters. */
const dnsLabel =
  (what: string): Rule =>
  (name) => {
    if (name.length < 1 || name.length > 63)
      return `${what} must be 1-63 characters long (is ${name.length})`;
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
      return `${what} may hold only lower-case letters, digits and '-', must start with a letter and must not end with '-'`;
    }
    return null;
  };

const sinkName: Rule = (name) => {
  if (name.length < 1 || name.length > 100) return `must be 1-100 characters long (is ${name.length})`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    return "may hold only letters, digits, '_', '-' and '.', and must start with a letter or digit";
  }
  return null;
};

const labelKey: Rule = (name) => {
  if (name.length < 1 || name.length > 63) return `must be 1-63 characters long (is ${name.length})`;
  if (!/^[a-z][a-z0-9_-]*$/.test(name))
    return "may hold only lower-case letters, digits, '_' and '-', starting with a letter";
  return null;
};

const labelValue: Rule = (name) => {
  if (name.length > 63) return `must be at most 63 characters long (is ${name.length})`;
  if (!/^[a-z0-9_-]*$/.test(name)) return "may hold only lower-case letters, digits, '_' and '-'";
  return null;
};

const RULES: Record<NameKind, Rule> = {
  topic: pubsubId,
  subscription: pubsubId,
  "service-account": serviceAccountId,
  bucket: bucketName,
  function: dnsLabel("a function name"),
  repository: dnsLabel("a repository name"),
  sink: sinkName,
  trigger: dnsLabel("a trigger name"),
  "label-key": labelKey,
  "label-value": labelValue,
};

/** Why Google Cloud would reject this name, or null when it would accept it. */
export function nameProblem(kind: NameKind, name: string): string | null {
  return RULES[kind](name);
}

export class InvalidNameError extends Error {
  override readonly name = "InvalidNameError";
}

/** Throws with the kind, the name and the broken rule; returns the name otherwise. */
export function checkName(kind: NameKind, name: string): string {
  const problem = nameProblem(kind, name);
  if (problem) throw new InvalidNameError(`invalid ${kind} name ${JSON.stringify(name)}: ${problem}`);
  return name;
}
