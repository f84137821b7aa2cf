// Text cleaning as the original pipeline did it: HTML tags become a space, whitespace collapses, ends are trimmed.

/** Tags only (`<br />`, `</p>`, `<!-- -->`), so that "I <3 it" or "a < b" keep their text. */
const TAG = /<\/?[A-Za-z!][^>]*>/g;
const SPACE = /\s+/g;

export function cleanText(s: string): string {
  return stripTags(s).replace(SPACE, " ").trim();
}

/**
 * TAG applied only up to the last ">": past it no tag can close, and there the regex would scan to the end of the text
 * from every "<" in vain (quadratic: 40 KB of "<a" took 1.2 s, and a review or a prediction request is up to 1.5 MB).
 * Before the last ">" every attempt ends at the next ">", so the whole is linear and the result is unchanged.
 */
function stripTags(s: string): string {
  if (!s.includes("<")) return s;
  const end = s.lastIndexOf(">") + 1;
  if (end === 0) return s;
  return s.slice(0, end).replace(TAG, " ") + s.slice(end);
}
