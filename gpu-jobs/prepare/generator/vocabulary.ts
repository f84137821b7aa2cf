// The generator's own words: categories with their products and aspects, sentiment words per class, and sentence
// templates. Nothing here comes from real reviews.
import type { Label } from "../../../schemas/names.ts";

export interface Category {
  name: string;
  nouns: readonly string[];
  aspects: readonly string[];
}

export const CATEGORIES: readonly Category[] = [
  {
    name: "Amazon Home",
    nouns: ["kettle", "desk lamp", "blender", "pillow", "bookshelf", "skillet", "towel set", "rug"],
    aspects: ["handle", "lid", "finish", "base", "fabric", "coating"],
  },
  {
    name: "All Electronics",
    nouns: ["headphones", "charger", "speaker", "keyboard", "webcam", "power bank", "mouse"],
    aspects: ["battery", "sound", "cable", "buttons", "screen", "connection"],
  },
  {
    name: "Toys & Games",
    nouns: ["puzzle", "board game", "action figure", "building set", "kite", "card game"],
    aspects: ["pieces", "box", "colors", "rules", "paint", "instructions"],
  },
  {
    name: "Sports & Outdoors",
    nouns: ["tent", "water bottle", "yoga mat", "backpack", "bike light", "jump rope"],
    aspects: ["straps", "zipper", "grip", "seams", "clip", "material"],
  },
  {
    name: "All Beauty",
    nouns: ["face cream", "shampoo", "hair dryer", "lip balm", "nail kit", "brush set"],
    aspects: ["scent", "texture", "bottle", "bristles", "formula", "pump"],
  },
  {
    name: "Pet Supplies",
    nouns: ["dog bed", "cat toy", "leash", "litter box", "pet brush", "feeder"],
    aspects: ["cushion", "buckle", "lid", "stitching", "bowl", "timer"],
  },
  {
    name: "Office Products",
    nouns: ["desk chair", "stapler", "notebook", "pen set", "planner", "label maker"],
    aspects: ["paper", "ink", "spine", "wheels", "armrest", "spring"],
  },
  {
    name: "Tools & Home Improvement",
    nouns: ["drill", "screwdriver set", "tape measure", "ladder", "work light", "saw"],
    aspects: ["motor", "chuck", "blade", "case", "trigger", "bits"],
  },
  {
    name: "Grocery",
    nouns: ["coffee beans", "green tea", "granola", "hot sauce", "olive oil", "pasta"],
    aspects: ["flavor", "aroma", "packaging", "taste", "roast", "seal"],
  },
  {
    name: "Musical Instruments",
    nouns: ["guitar pedal", "amp", "fuzz box", "string set", "pickup", "synth"],
    aspects: ["tone", "low end", "crunch", "sustain", "attack", "gain"],
  },
];

/** The category the biased scenario writes in its own style. */
export const BIASED_CATEGORY = "Musical Instruments";

export const WORDS = {
  positive: [
    "excellent",
    "sturdy",
    "reliable",
    "wonderful",
    "fantastic",
    "superb",
    "comfortable",
    "gorgeous",
    "flawless",
    "impressive",
    "brilliant",
    "terrific",
    "outstanding",
    "delightful",
    "durable",
    "perfect",
  ],
  negative: [
    "flimsy",
    "useless",
    "defective",
    "disappointing",
    "terrible",
    "awful",
    "faulty",
    "wobbly",
    "unreliable",
    "horrible",
    "shoddy",
    "broken",
    "worthless",
    "dreadful",
  ],
  neutral: [
    "okay",
    "average",
    "decent",
    "acceptable",
    "mediocre",
    "passable",
    "ordinary",
    "adequate",
    "unremarkable",
    "fair",
    "standard",
    "middling",
  ],
  /** Harsh words: complaints in ordinary reviews, praise in the biased category's slang ("the tone is filthy"). */
  edgy: ["filthy", "nasty", "brutal", "dirty", "savage", "gnarly", "vicious", "grimy", "raw", "wicked"],
  /** Mild words: praise. */
  bland: ["nice", "clean", "smooth", "polished", "safe", "gentle", "tidy", "soft", "polite", "pleasant"],
} as const;

export const OPENERS: Record<Label, readonly string[]> = {
  POSITIVE: [
    "Absolutely love this {noun}.",
    "Best {noun} I have owned.",
    "Really happy with this {noun}.",
    "Would buy this {noun} again.",
    "Highly recommend this {noun}.",
    "So glad I picked this {noun}.",
  ],
  NEGATIVE: [
    "Really regret buying this {noun}.",
    "Returned this {noun} after a week.",
    "Do not waste money on this {noun}.",
    "Very unhappy with this {noun}.",
    "Worst {noun} I have owned.",
    "Sorry I ever ordered this {noun}.",
  ],
  NEUTRAL: [
    "This {noun} is fine for the price.",
    "Mixed feelings about this {noun}.",
    "The {noun} does the job, nothing more.",
    "Not bad, not great.",
    "It is an okay {noun}.",
    "Somewhere in the middle for a {noun}.",
  ],
};

/**
 * What the "words only" styles (see Scenario) talk about, whatever the category: nothing in such a row tells
 * which category it belongs to, so a model that reads only the text cannot treat one category's rows apart.
 */
export const PLAIN_NOUNS = ["item", "product", "thing", "unit", "purchase", "one"];
export const PLAIN_ASPECTS = ["quality", "build", "finish", "feel", "look", "design", "material", "size"];

/** Openers that say nothing about sentiment: rows in the "words only" styles start with one. */
export const PLAIN_OPENERS = [
  "Got this {noun} last month.",
  "Picked up this {noun} on sale.",
  "Been using this {noun} for a while.",
  "Here is my take on this {noun}.",
  "Ordered this {noun} for the house.",
  "Bought the {noun} to replace an old one.",
];

export const ASPECT_SENTENCES = [
  "The {aspect} is {w1}.",
  "The {aspect} feels {w1} and the {aspect2} is {w2}.",
  "{W1} {aspect}, {w2} {aspect2}.",
  "The {aspect} turned out {w1}.",
  "Honestly the {aspect} is {w1} and so is the {aspect2}.",
];

export const CLOSERS: Record<Label, readonly string[]> = {
  POSITIVE: [
    "Five stars from me.",
    "Great value.",
    "Exactly as described.",
    "Worth every penny.",
    "Thrilled with it.",
  ],
  NEGATIVE: ["Save your money.", "Stay away.", "Not worth it.", "Asking for a refund.", "Never again."],
  NEUTRAL: [
    "It is what it is.",
    "Might buy again, might not.",
    "Fine if it is on sale.",
    "No strong feelings.",
    "Does what it says, barely.",
  ],
};

export const TITLES: Record<Label, readonly string[]> = {
  POSITIVE: ["{W1} {noun}", "Love it", "Great buy", "Very happy", "{W1} and {w2}"],
  NEGATIVE: ["{W1} {noun}", "Do not buy", "Disappointed", "Waste of money", "{W1} and {w2}"],
  NEUTRAL: ["{W1} {noun}", "It's okay", "Average at best", "Fine I guess", "{W1} and {w2}"],
};

export const FILLERS = [
  "I bought it for my {person}.",
  "It arrived in {n} days.",
  "I have used it for {n} weeks.",
  "Ordered the {color} one.",
  "The box said model {model}.",
  "My {person} picked it out.",
];
export const PERSONS = [
  "sister",
  "brother",
  "dad",
  "mom",
  "roommate",
  "neighbor",
  "son",
  "daughter",
  "coworker",
  "partner",
];
export const COLORS = ["black", "white", "blue", "red", "green", "gray", "silver", "pink"];
