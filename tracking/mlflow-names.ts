// Names in MLflow: one experiment per pipeline run (as the trainer names it) and metric keys MLflow accepts.

/** The trainer logs its trial and training runs into this experiment too (`sentiment_trainer/tracking.py`). */
export function experimentName(runId: string): string {
  return `sentiment-pipeline/${runId}`;
}

/** Metric and param keys may hold letters, digits, `_ - . : /` and spaces; anything else becomes `_`. */
export function safeKeyPart(part: string): string {
  const cleaned = part.replace(/[^A-Za-z0-9_\-. :]/g, "_").trim();
  return cleaned === "" ? "_" : cleaned;
}

/** `slice/<column>/<value>/<what>`, with each part made safe (a `/` inside a value cannot split it). */
export function sliceMetricKey(column: string, value: string, what: string): string {
  return `slice/${safeKeyPart(column)}/${safeKeyPart(value)}/${what}`;
}

/** The experiment tag of one retrigger decision, stable across redeliveries: `retrigger.<step>.a<attempt>`. */
export function retriggerTagKey(from: string, attempt: number | null, time: string): string {
  return attempt !== null ? `retrigger.${from}.a${attempt}` : `retrigger.${from}.${time}`;
}
