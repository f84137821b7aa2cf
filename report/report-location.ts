// Where a run's report lives: runs/RUN_ID/report.html, beside the state and the step folders.
import { runDir } from "../schemas/names.ts";
import type { ObjectStore } from "../platform/ports/object-store.ts";
import { LocalObjectStore } from "../platform/local/local-object-store.ts";

export const REPORT_NAME = "report.html";

export function reportUri(bucket: string, runId: string): string {
  return `${runDir(bucket, runId)}/${REPORT_NAME}`;
}

/** What to show a person for an object: its file in embedded mode (a browser opens it), else the gs:// URI. */
export function displayLocation(store: ObjectStore, uri: string): string {
  return store instanceof LocalObjectStore ? store.pathOf(uri) : uri;
}
