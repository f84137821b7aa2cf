// Text cleaning as the original pipeline did it: HTML tags become a space, whitespace collapses, ends are trimmed.

/** Tags only (`<br />`, `</p>`, `<!-- -->`), so that "I <3 it" or "a < b" keep their text. */
const TAG = /<\/?[A-Za-z!][^>]*>/g;
const SPACE = /\s+/g;

export function cleanText(s: string): string {
  const untagged = s.includes("<") ? s.replace(TAG, " ") : s;
  return untagged.replace(SPACE, " ").trim();
}
