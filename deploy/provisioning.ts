// Errors a first deploy in a fresh project meets while Google provisions service agents and propagates new grants.
//
// IAM documents that an access change usually takes effect within 2 minutes and can take 7 or more
// (https://cloud.google.com/iam/docs/access-change-propagation); a newly enabled API answers SERVICE_DISABLED with
// "If you enabled this API recently, wait a few minutes for the action to propagate"; Cloud Storage refuses a
// notification until its agent's publisher grant on the topic is visible; Eventarc's agent says "it may take a few
// minutes before all necessary permissions are propagated to the Service Agent". Each is retried for minutes, not
// seconds: the backoff below waits 9.25 minutes in all before it gives up.

/** One kind of provisioning error: what gcloud prints (a POSIX ERE, so the printed plan can use it too) and why. */
export interface ProvisioningError {
  pattern: string;
  why: string;
}

export const PROVISIONING_ERRORS: readonly ProvisioningError[] = [
  {
    pattern: "enabled this API recently|wait a few minutes for the action to propagate",
    why: "a newly enabled API is still propagating",
  },
  {
    pattern: "permissions are propagated to the Service Agent|may take a few minutes",
    why: "a new service agent's permissions are still propagating",
  },
  {
    pattern: "does not have permission to publish messages",
    why: "the Cloud Storage agent's publisher grant on the topic is still propagating",
  },
  {
    pattern:
      "(gcp-sa-[a-z]+|gs-project-accounts|gcf-admin-robot|serverless-robot-prod)[^ ]*.*(PERMISSION_DENIED|permission|403)",
    why: "a Google service agent is new and its roles are still propagating",
  },
  {
    pattern: "iam\\.serviceAccounts\\.(actAs|getAccessToken)|Service account [^ ]+ does not exist",
    why: "a new service account is not yet visible everywhere",
  },
  {
    pattern:
      "(storage\\.objects\\.get|artifactregistry\\.repositories\\.uploadArtifacts|logging\\.logEntries\\.create)",
    why: "the builder's new grants are still propagating",
  },
];

/** Waits between tries of a provisioning error, in seconds: 15, 30, 60, then 90 and 120s, 9.25 minutes in all. */
export const PROVISIONING_DELAYS_SECONDS: readonly number[] = [15, 30, 60, 90, 120, 120, 120];

/** The provisioning error a failure's stderr shows, if any. */
export function provisioningError(stderr: string): ProvisioningError | null {
  return PROVISIONING_ERRORS.find((e) => new RegExp(e.pattern, "i").test(stderr)) ?? null;
}

/** All patterns as one ERE, for grep -E in the printed plan. */
export function provisioningPattern(): string {
  return PROVISIONING_ERRORS.map((e) => `(${e.pattern})`).join("|");
}
