// The stand-in's own trial suggestions: seeded random search or a grid over a v1 StudySpec. Not Vizier, not Bayesian.
import { invalid } from "./resources.ts";

export interface ParameterSpecInput {
  parameterId?: string | null;
  doubleValueSpec?: { minValue?: number | null; maxValue?: number | null } | null;
  integerValueSpec?: { minValue?: string | number | null; maxValue?: string | number | null } | null;
  categoricalValueSpec?: { values?: string[] | null } | null;
  discreteValueSpec?: { values?: number[] | null } | null;
  scaleType?: string | null;
}

export type ParameterValue = { numberValue: number } | { stringValue: string };
export interface SuggestedParameter {
  parameterId: string;
  value: ParameterValue;
}

/** mulberry32: a small seeded generator, so a study's suggestions repeat for the same seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Refuses what Vertex refuses: no parameters, a parameter without exactly one value spec, empty or inverted ranges. */
export function checkParameters(specs: readonly ParameterSpecInput[], algorithm: string): void {
  if (specs.length === 0) throw invalid("study_spec.parameters must hold at least one parameter.");
  const seen = new Set<string>();
  specs.forEach((p, i) => {
    const where = `study_spec.parameters[${i}]`;
    if (!p.parameterId) throw invalid(`${where}.parameter_id is required.`);
    if (seen.has(p.parameterId)) throw invalid(`${where}: parameter_id ${p.parameterId} is repeated.`);
    seen.add(p.parameterId);
    const kinds = [p.doubleValueSpec, p.integerValueSpec, p.categoricalValueSpec, p.discreteValueSpec].filter(
      Boolean,
    );
    if (kinds.length !== 1) throw invalid(`${where} must set exactly one value spec.`);
    if (p.doubleValueSpec) {
      const { minValue, maxValue } = p.doubleValueSpec;
      if (!(Number(minValue) < Number(maxValue)))
        throw invalid(`${where}.double_value_spec: min_value must be below max_value.`);
      if (p.scaleType === "UNIT_LOG_SCALE" && !(Number(minValue) > 0))
        throw invalid(`${where}: UNIT_LOG_SCALE needs a positive min_value.`);
      if (algorithm === "GRID_SEARCH")
        throw invalid(`${where}: GRID_SEARCH cannot search a double_value_spec.`);
    }
    if (p.integerValueSpec && !(Number(p.integerValueSpec.minValue) <= Number(p.integerValueSpec.maxValue)))
      throw invalid(`${where}.integer_value_spec: min_value must not exceed max_value.`);
    if (p.categoricalValueSpec && !p.categoricalValueSpec.values?.length)
      throw invalid(`${where}.categorical_value_spec.values must not be empty.`);
    if (p.discreteValueSpec && !p.discreteValueSpec.values?.length)
      throw invalid(`${where}.discrete_value_spec.values must not be empty.`);
  });
}

function choices(p: ParameterSpecInput): ParameterValue[] {
  if (p.categoricalValueSpec) return (p.categoricalValueSpec.values ?? []).map((s) => ({ stringValue: s }));
  if (p.discreteValueSpec) return (p.discreteValueSpec.values ?? []).map((n) => ({ numberValue: Number(n) }));
  const lo = Number(p.integerValueSpec?.minValue);
  const hi = Number(p.integerValueSpec?.maxValue);
  return Array.from({ length: hi - lo + 1 }, (_, k) => ({ numberValue: lo + k }));
}

function randomValue(p: ParameterSpecInput, random: () => number): ParameterValue {
  if (p.doubleValueSpec) {
    const lo = Number(p.doubleValueSpec.minValue);
    const hi = Number(p.doubleValueSpec.maxValue);
    const u = random();
    const value =
      p.scaleType === "UNIT_LOG_SCALE"
        ? Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo)))
        : lo + u * (hi - lo);
    return { numberValue: value };
  }
  const all = choices(p);
  return all[Math.min(all.length - 1, Math.floor(random() * all.length))]!;
}

/**
 * Suggests trial `index` (from 0): random search draws each parameter independently (log-uniform on a log scale);
 * GRID_SEARCH walks the grid in order and wraps round when trials outnumber its points. Unspecified (Vertex's
 * Bayesian default) is random search here: the stand-in does not model what earlier trials measured.
 */
export function suggest(
  specs: readonly ParameterSpecInput[],
  algorithm: string,
  index: number,
  random: () => number,
): SuggestedParameter[] {
  if (algorithm === "GRID_SEARCH") {
    let rest = index;
    return specs.map((p) => {
      const all = choices(p);
      const value = all[rest % all.length]!;
      rest = Math.floor(rest / all.length);
      return { parameterId: p.parameterId!, value };
    });
  }
  return specs.map((p) => ({ parameterId: p.parameterId!, value: randomValue(p, random) }));
}

/** Vertex's flag for a parameter: `--id=value`, appended to the trial container's arguments. */
export function parameterFlag(p: SuggestedParameter): string {
  return `--${p.parameterId}=${"stringValue" in p.value ? p.value.stringValue : String(p.value.numberValue)}`;
}
