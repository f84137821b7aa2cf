// The model card: what the model is for, what it was trained on, how it scored, and what it cannot be trusted with.
import { LABELS } from "../../schemas/names.ts";
import { countOf } from "../../schemas/text.ts";
import { esc, int, num, pct, section } from "../html-kit.ts";
import type { ReportModel } from "../report-model.ts";

/** Which export serves, and the validation numbers that decided it (older folders: agreement only). */
function exportedText(md: NonNullable<ReportModel["model"]>): string {
  const q = md.quantization;
  if (!q)
    return `ONNX and an int8 variant (int8 agrees with the full model on ${pct(md.parity.int8Agreement)} of ${md.parity.examples} validation examples)`;
  const scores = `validation weighted F1 int8 ${num(q.int8.weightedF1)} vs fp32 ${num(q.fp32.weightedF1)}, macro F1 ${num(q.int8.macroF1)} vs ${num(q.fp32.macroF1)}, predictions agree on ${pct(q.agreement)} of ${q.examples}; tolerance ${num(q.tolerance)}`;
  return q.served === "int8"
    ? `ONNX fp32 and int8 (${esc(q.method)}); <strong>int8 served</strong>: ${esc(scores)}`
    : `ONNX fp32 and int8; <strong>fp32 served</strong>: ${esc(q.reason ?? "int8 not good enough")} (${esc(scores)})`;
}

/** Raw field behind each side feature: a feature is listed only when some training row gave its field. */
const FEATURE_FIELD: Record<string, string> = {
  price: "price",
  price_missing: "price",
  helpful_vote: "helpful_vote",
  verified_purchase: "verified_purchase",
};

/**
 * The side features the model can learn from: those whose field the training data holds. Counts come from the model's
 * own feature statistics, else the run's data summary; data prepared before they were counted lists every feature.
 */
export function featuresInData(model: ReportModel): { used: string[]; absent: string[] } | null {
  const f = model.model?.features;
  if (!f) return null;
  const present = f.present ?? model.data.stats?.featureStats.present;
  if (!present) return { used: f.names, absent: [] };
  const has = (name: string) => (present[FEATURE_FIELD[name] ?? name] ?? 0) > 0;
  return {
    used: f.names.filter(has),
    absent: [...new Set(f.names.filter((n) => !has(n)).map((n) => FEATURE_FIELD[n] ?? n))],
  };
}

function featuresText(model: ReportModel): string {
  const f = featuresInData(model);
  if (!f) return "";
  const used = f.used.length
    ? `, plus ${f.used.length} side feature${f.used.length === 1 ? "" : "s"} (${esc(f.used.join(", "))})`
    : ", no side feature";
  const absent = f.absent.length
    ? ` (the data has no ${esc(f.absent.join(" or "))}, so ${f.absent.length === 1 ? "that input is" : "those inputs are"} constant)`
    : "";
  return `${used}${absent}`;
}

export function modelCardSection(model: ReportModel): string {
  const md = model.model;
  // No model was trained (the run failed or stopped before training): there is nothing to describe.
  if (!md) return "";
  const stats = model.data.stats;
  const e = model.evaluation;
  const m = e?.report.metrics;
  const item = (k: string, v: string) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`;

  const details = [
    item("Task", "Three-class sentiment of a product review (title and text): NEGATIVE, NEUTRAL, POSITIVE."),
    md
      ? item(
          "Architecture",
          // The base model is what was trained; the family is only the config entry that named it (\`--model minilm\`
          // names minilm for every family), so it is not presented as the architecture.
          `base model <code>${esc(md.baseModel)}</code>, ${md.maxLength} tokens of <code>${esc(md.textTemplate)}</code>${featuresText(model)}`,
        )
      : "",
    md
      ? item(
          "Hyperparameters",
          esc(
            `learning rate ${md.params.learningRate.toExponential(2)}, batch ${md.params.batchSize}, ${md.params.epochs} epochs, weight decay ${md.params.weightDecay.toExponential(2)}, dropout ${md.params.dropout.toFixed(2)}`,
          ),
        )
      : "",
    md ? item("Exported", exportedText(md)) : "",
    model.verdict.outcome === "promoted"
      ? item("Status", "registered as the champion: serving uses this model")
      : item("Status", `not registered (${esc(model.verdict.outcome)})`),
  ].join("");

  const data = stats
    ? `${int(stats.splits.train.rows)} training and ${int(stats.splits.validation.rows)} validation reviews from <code>${esc(stats.input)}</code>; labels ${LABELS.map((l) => `${l} ${pct((stats.splits.train.byLabel[l] ?? 0) / Math.max(1, stats.splits.train.rows), 0)}`).join(", ")} of the training split. Data fingerprint <code>${esc(stats.fingerprint.slice(0, 12))}</code>.`
    : "The training data's statistics are not available.";

  const metrics = m
    ? `On ${int(m.support)} held-out test reviews: weighted F1 ${num(m.weightedF1)}, macro F1 ${num(m.macroF1)}, accuracy ${num(m.accuracy)}; F1 per class ${LABELS.map((l) => `${l} ${num(m.perClass[l]?.f1)}`).join(", ")}.`
    : "The model has no test-split evaluation.";

  return section(
    "model-card",
    "Model card",
    "",
    `<div class="card-grid">
<div><h3>Intended use</h3><p>Sorting and monitoring product reviews by sentiment in aggregate: dashboards, triage queues, trend alerts. Not for decisions about an individual reviewer or product without a person checking, and not for text unlike product reviews.</p></div>
<div><h3>Training data</h3><p>${data}</p></div>
<div><h3>Metrics</h3><p>${metrics}</p></div>
<div><h3>Model</h3><dl class="facts">${details}</dl></div>
</div>
<h3>Limitations</h3><ul class="limits" data-table="limitations">${limitations(model)
      .map((l) => `<li>${l}</li>`)
      .join("")}</ul>`,
  );
}

/** Limitations that follow from this run's own numbers, then the ones every model of this pipeline shares. */
export function limitations(model: ReportModel): string[] {
  const out: string[] = [];
  const stats = model.data.stats;
  const e = model.evaluation;
  const m = e?.report.metrics;
  if (stats) {
    const train = stats.splits.train;
    const shares = LABELS.map((l) => ({ l, share: (train.byLabel[l] ?? 0) / Math.max(1, train.rows) }));
    const rare = shares.filter((s) => s.share < 0.15);
    if (rare.length)
      out.push(
        `Imbalanced labels: ${rare.map((r) => `${r.l} is only ${pct(r.share, 0)}`).join(", ")} of the training data, so ${rare.length > 1 ? "these classes are" : "this class is"} learned from few examples.`,
      );
  }
  if (m) {
    const weak = LABELS.filter((l) => (m.perClass[l]?.f1 ?? 0) < 0.5 && (m.perClass[l]?.support ?? 0) > 0);
    if (weak.length)
      out.push(
        `Weak classes: F1 below 0.5 for ${weak.map((l) => `${l} (${num(m.perClass[l]?.f1)})`).join(", ")}; predictions of ${weak.length > 1 ? "these labels" : "this label"} are unreliable.`,
      );
    if (m.macroF1 < m.weightedF1 - 0.1)
      out.push(
        `The weighted F1 (${num(m.weightedF1)}) flatters the model: the frequent class dominates it; macro F1 is ${num(m.macroF1)}.`,
      );
    if (m.support < 500)
      out.push(
        `Small test split (${int(m.support)} rows): every metric here carries sampling noise of a few points; see the slice intervals.`,
      );
  }
  if (e?.slices) {
    const biased = e.slices.slices.filter((s) => s.biased);
    if (biased.length)
      out.push(
        `Biased slices: ${biased.map((s) => `${esc(s.column)}=${esc(s.value)} (F1 ${num(s.f1)})`).join(", ")} score below the bias line.`,
      );
    // The same judgement as the slices section: the `judged` flag of each slice, and the same coverage sentence.
    if (e.unjudged)
      out.push(
        `${capitalise(esc(e.unjudged))}: ${esc(e.unjudgedReason)}. The bias check says nothing about ${e.judged === 0 ? "any slice" : "those slices"}.`,
      );
    const unjudged = e.slices.slices.filter((s) => !s.judged).length;
    if (unjudged)
      out.push(
        `${unjudged} slice${unjudged === 1 ? " was" : "s were"} too small to be judged for bias (under ${pct(e.slices.threshold.minSliceShare, 0)} of the test rows${e.slices.threshold.minSliceRows != null ? ` and under ${countOf(e.slices.threshold.minSliceRows, "row")}` : ""}): the model's quality there is unknown.`,
      );
  }
  out.push(
    "Labels derive from star ratings (or the upload's label column): a review whose words and stars disagree teaches the model the stars.",
    "Trained on English product reviews of the uploaded categories and years; other domains, languages and later years may score lower without warning.",
  );
  return out;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
