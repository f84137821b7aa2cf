// The generator's scenarios: how labels, writing styles and categories are drawn, each made to exercise one
// pipeline rule with the small local model.
import type { Label } from "../../../schemas/names.ts";

export const SCENARIO_NAMES = ["clean", "lowf1", "biased"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Scenario {
  name: ScenarioName;
  what: string;
  /** Share of each true sentiment, NEGATIVE / NEUTRAL / POSITIVE. */
  labelPrior: Record<Label, number>;
  /** Share of rows whose star rating is redrawn from the prior, whatever the text says (label noise). */
  labelNoise: number;
  /** Share of the biased category in the rows; the others share the rest. */
  biasedCategoryShare: number | null;
  /**
   * Whether the biased category's positive reviews are written in its slang: harsh words as praise, in plain
   * sentences that name no category. Such a row reads exactly like another category's harsh-only complaint, so
   * a text model must take one side: without weights the complaints win (they count more, being of the rarer
   * class), and the slice's positive reviews come out negative; weighting the slice tips the balance back.
   */
  slang: boolean;
  /** Share of negative rows written with harsh words only, in plain sentences (the rows the slang contradicts). */
  harshOnlyNegative: number;
  /** Share of positive rows written with mild words only, in plain sentences. */
  mildOnlyPositive: number;
}

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  clean: {
    name: "clean",
    what: "learnable text, realistic class skew: passes every gate",
    labelPrior: { NEGATIVE: 0.12, NEUTRAL: 0.08, POSITIVE: 0.8 },
    labelNoise: 0,
    biasedCategoryShare: null,
    slang: false,
    harshOnlyNegative: 0.35,
    mildOnlyPositive: 0.35,
  },
  lowf1: {
    name: "lowf1",
    what: "most ratings redrawn at random: weighted F1 stays under 0.6 whatever the hyperparameters",
    labelPrior: { NEGATIVE: 0.28, NEUTRAL: 0.12, POSITIVE: 0.6 },
    labelNoise: 0.85,
    biasedCategoryShare: null,
    slang: false,
    harshOnlyNegative: 0.35,
    mildOnlyPositive: 0.35,
  },
  biased: {
    name: "biased",
    what: "one category (15% of rows) praises in a harsh slang that reads like complaints: learned poorly unless up-weighted",
    labelPrior: { NEGATIVE: 0.12, NEUTRAL: 0.08, POSITIVE: 0.8 },
    labelNoise: 0,
    biasedCategoryShare: 0.15,
    slang: true,
    harshOnlyNegative: 0.35,
    mildOnlyPositive: 0.35,
  },
};
