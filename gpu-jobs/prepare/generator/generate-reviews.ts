// Generates reviews in the Amazon Reviews 2023 review schema (joined with main_category, price and product_name)
// from the generator's own vocabulary: deterministic for a seed, one row at a time, any number of rows.
import { LABELS, type Label } from "../../../schemas/names.ts";
import { fmix32 } from "../identity.ts";
import { Random } from "./random.ts";
import { SCENARIOS, type Scenario, type ScenarioName } from "./scenarios.ts";
import {
  ASPECT_SENTENCES,
  BIASED_CATEGORY,
  CATEGORIES,
  CLOSERS,
  COLORS,
  FILLERS,
  OPENERS,
  PERSONS,
  PLAIN_ASPECTS,
  PLAIN_NOUNS,
  PLAIN_OPENERS,
  TITLES,
  WORDS,
  type Category,
} from "./vocabulary.ts";

export interface GeneratedReview {
  rating: number;
  title: string;
  text: string;
  images: string[];
  asin: string;
  parent_asin: string;
  user_id: string;
  timestamp: number;
  helpful_vote: number;
  verified_purchase: boolean;
  main_category: string | null;
  price: number | null;
  product_name: string;
}

export interface GenerateOptions {
  rows: number;
  seed: number;
  scenario: ScenarioName;
}

/** How the row's sentiment is worded (see Scenario). */
type Style = "generic" | "harsh-only" | "mild-only" | "slang";

const BRANDS = [
  "Norvik",
  "Castellan",
  "Brightwell",
  "Tamsin",
  "Oakridge",
  "Velloro",
  "Quenby",
  "Harlow",
  "Ferncrest",
  "Lumio",
  "Pellar",
  "Stroud",
];
const SUFFIXES = ["Pro", "Classic", "Plus", "Mini", "Max", "Lite", "2", "Deluxe", "Essential", "X"];
const PRODUCTS_PER_CATEGORY = 40;
/** Review years and their weights: more recent years hold more reviews, as in the real data. */
const YEARS = [2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023];
const YEAR_WEIGHTS = [5, 7, 10, 13, 16, 17, 18, 14];
const HTML_SHARE = 0.08;
const NO_CATEGORY_SHARE = 0.01;

interface Product {
  parentAsin: string;
  asins: string[];
  name: string;
  noun: string;
  price: number | null;
}

export function* generateReviews(options: GenerateOptions): Generator<GeneratedReview> {
  const scenario = SCENARIOS[options.scenario];
  // The catalog has a stream of its own, so the first N rows are the same whatever the row count.
  const catalog = buildCatalog(new Random(options.seed, 1));
  const rng = new Random(options.seed, 2);
  const categoryWeights = CATEGORIES.map((c) =>
    scenario.biasedCategoryShare === null
      ? 1
      : c.name === BIASED_CATEGORY
        ? scenario.biasedCategoryShare * (CATEGORIES.length - 1)
        : 1 - scenario.biasedCategoryShare,
  );
  const prior = LABELS.map((l) => scenario.labelPrior[l]);
  const userCount = Math.max(10, Math.floor(options.rows / 4));
  for (let i = 0; i < options.rows; i++) {
    const c = rng.weighted(categoryWeights);
    const category = CATEGORIES[c]!;
    const product = rng.pick(catalog[c]!);
    const sentiment = LABELS[rng.weighted(prior)]!;
    const label = rng.chance(scenario.labelNoise) ? LABELS[rng.weighted(prior)]! : sentiment;
    const style = styleOf(rng, scenario, category, sentiment);
    const year = YEARS[rng.weighted(YEAR_WEIGHTS)]!;
    const start = Date.UTC(year, 0, 1);
    const timestamp = start + Math.floor(rng.next() * (Date.UTC(year + 1, 0, 1) - start));
    const review: GeneratedReview = {
      rating: ratingOf(rng, label),
      title: "",
      text: "",
      images: [],
      asin: rng.pick(product.asins),
      parent_asin: product.parentAsin,
      user_id: userId(options.seed, rng.int(userCount)),
      timestamp,
      helpful_vote: rng.chance(0.6) ? 0 : 1 + rng.geometric(0.3),
      verified_purchase: rng.chance(0.9),
      main_category:
        category.name !== BIASED_CATEGORY && rng.chance(NO_CATEGORY_SHARE) ? null : category.name,
      price: product.price,
      product_name: product.name,
    };
    const words = wordsOf(style, sentiment);
    const plain = style !== "generic";
    const noun = plain ? rng.pick(PLAIN_NOUNS) : product.noun;
    const aspects = plain ? PLAIN_ASPECTS : category.aspects;
    review.title = titleOf(rng, style, sentiment, words, noun);
    review.text = textOf(rng, style, sentiment, words, noun, aspects);
    yield review;
  }
}

function styleOf(rng: Random, scenario: Scenario, category: Category, sentiment: Label): Style {
  if (scenario.slang && category.name === BIASED_CATEGORY && sentiment === "POSITIVE") return "slang";
  if (sentiment === "NEGATIVE" && rng.chance(scenario.harshOnlyNegative)) return "harsh-only";
  if (sentiment === "POSITIVE" && rng.chance(scenario.mildOnlyPositive)) return "mild-only";
  return "generic";
}

function wordsOf(style: Style, sentiment: Label): readonly string[] {
  if (sentiment === "NEUTRAL") return WORDS.neutral;
  switch (style) {
    case "generic":
      return sentiment === "POSITIVE"
        ? [...WORDS.positive, ...WORDS.bland]
        : [...WORDS.negative, ...WORDS.edgy];
    case "harsh-only":
      return WORDS.edgy;
    case "mild-only":
      return WORDS.bland;
    case "slang":
      return WORDS.edgy;
  }
}

function ratingOf(rng: Random, label: Label): number {
  if (label === "POSITIVE") return rng.chance(0.78) ? 5 : 4;
  if (label === "NEGATIVE") return rng.chance(0.62) ? 1 : 2;
  return 3;
}

function titleOf(
  rng: Random,
  style: Style,
  sentiment: Label,
  words: readonly string[],
  noun: string,
): string {
  const template =
    style === "generic" ? rng.pick(TITLES[sentiment]) : rng.pick(["{W1} {noun}", "{W1} and {w2}", "So {w1}"]);
  return fill(template, rng, words, { noun });
}

function textOf(
  rng: Random,
  style: Style,
  sentiment: Label,
  words: readonly string[],
  noun: string,
  aspects: readonly string[],
): string {
  const sentences: string[] = [];
  sentences.push(
    fill(rng.pick(style === "generic" ? OPENERS[sentiment] : PLAIN_OPENERS), rng, words, { noun }),
  );
  const count = 1 + rng.int(2);
  for (let k = 0; k < count; k++) {
    const aspect = rng.pick(aspects);
    let aspect2 = rng.pick(aspects);
    if (aspect2 === aspect) aspect2 = aspects[(aspects.indexOf(aspect) + 1) % aspects.length]!;
    sentences.push(fill(rng.pick(ASPECT_SENTENCES), rng, words, { aspect, aspect2 }));
  }
  const fillers = rng.int(3);
  for (let k = 0; k < fillers; k++) {
    const at = 1 + rng.int(sentences.length);
    sentences.splice(at, 0, fill(rng.pick(FILLERS), rng, words, {}));
  }
  if (style === "generic" && rng.chance(0.7)) sentences.push(rng.pick(CLOSERS[sentiment]));
  if (rng.chance(HTML_SHARE) && sentences.length > 1) {
    const at = 1 + rng.int(sentences.length - 1);
    return `${sentences.slice(0, at).join(" ")}<br /><br />${sentences.slice(at).join(" ")}`;
  }
  return sentences.join(" ");
}

/** Fills {noun}, {aspect}, {aspect2}, {w1}/{w2} (two different words of the row's pool; capitalised as {W1}), {n}, {person}... */
function fill(
  template: string,
  rng: Random,
  words: readonly string[],
  slots: Record<string, string>,
): string {
  const w1 = rng.pick(words);
  let w2 = rng.pick(words);
  if (w2 === w1) w2 = words[(words.indexOf(w1) + 1) % words.length]!;
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    switch (key) {
      case "w1":
        return w1;
      case "w2":
        return w2;
      case "W1":
        return capitalise(w1);
      case "n":
        return String(2 + rng.int(10));
      case "person":
        return rng.pick(PERSONS);
      case "color":
        return rng.pick(COLORS);
      case "model":
        return rng.token(2, "ABCDEFGHJKLMNPRSTUVWXYZ") + String(100 + rng.int(900));
      default:
        return slots[key] ?? key;
    }
  });
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function buildCatalog(rng: Random): Product[][] {
  return CATEGORIES.map((category) =>
    Array.from({ length: PRODUCTS_PER_CATEGORY }, () => {
      const parentAsin = `B0${rng.token(8)}`;
      const variants = 1 + rng.int(3);
      const asins =
        variants === 1 ? [parentAsin] : Array.from({ length: variants }, () => `B0${rng.token(8)}`);
      const noun = rng.pick(category.nouns);
      // One price distribution for every category (log-uniform, $5 to $250), so price says nothing about it.
      const price = rng.chance(0.3)
        ? null
        : Math.round(5 * Math.exp(rng.next() * Math.log(50)) * 100 - 1) / 100;
      return {
        parentAsin,
        asins,
        noun,
        price,
        name: `${rng.pick(BRANDS)} ${capitalise(noun)} ${rng.pick(SUFFIXES)}`,
      };
    }),
  );
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A 28-character reviewer id like the data set's, derived from the user's number and the seed. */
function userId(seed: number, k: number): string {
  let s = "A";
  let h = fmix32(seed ^ Math.imul(k + 1, 0x9e3779b1));
  for (let i = 0; i < 27; i++) {
    if (i % 6 === 0) h = fmix32(h + i + k);
    s += ID_ALPHABET[h & 31];
    h >>>= 5;
  }
  return s;
}
