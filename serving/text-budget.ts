// How much of a review text serving reads: the model sees at most maxLength tokens of `title + " " + text`, so a text
// is cut to what those tokens can cover before it is cleaned and tokenized, and a 1.5 MB review costs what 4 KB does.

/**
 * Characters of cleaned text kept per token of the model's max length: 128 tokens keep 4,096 characters. Every
 * whitespace-separated word gives the tokenizer at least one token (WordPiece turns a word over 100 characters into a
 * single [UNK]; byte-level BPE pieces are shorter still), and the text is cut at a space, so the cut text's tokens are
 * the first tokens of the whole text. They fill the model's window whenever the kept part has maxLength words, which a
 * text whose words average under 31 characters always does; English reviews average 4 to 5 characters a token.
 * test/serving/text-budget.test.ts checks that every review of the shared sample tokenizes as it did uncut.
 */
export const CHARS_PER_TOKEN = 32;

/**
 * The raw text read before cleaning, as a multiple of the cleaned budget: cleaning only drops tags and collapses
 * whitespace, so a text whose first 8 x 4 KB are not almost all markup or blanks still yields its whole budget, and the
 * cleaning of one instance stays a few milliseconds on the event loop.
 */
export const RAW_FACTOR = 8;

/** Cleaned characters kept for a model that reads `maxLength` tokens. */
export function textBudget(maxLength: number): number {
  return maxLength * CHARS_PER_TOKEN;
}

/** The raw text to clean: at most RAW_FACTOR times the budget, cut between code points. */
export function rawPrefix(raw: string, budget: number): string {
  return cutAt(raw, budget * RAW_FACTOR);
}

/**
 * A cleaned text (single spaces) cut to at most `budget` characters: at the last space within the budget, so no word is
 * split, else (one word longer than the search window) between code points.
 */
export function cutCleaned(text: string, budget: number): string {
  if (text.length <= budget) return text;
  if (text[budget] === " ") return text.slice(0, budget);
  const space = text.lastIndexOf(" ", budget);
  if (space > 0) return text.slice(0, space);
  return cutAt(text, budget);
}

/** The first `max` UTF-16 units, one fewer when the cut would split a surrogate pair. */
function cutAt(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
