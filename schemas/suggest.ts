// "Did you mean" for a mistyped command or flag: the closest known name by Damerau-Levenshtein distance.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Edits (insert, delete, substitute, swap two neighbours) between two strings: optimal string alignment distance. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++)
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  return d[a.length]![b.length]!;
}

/**
 * The known names close enough to `typed` to be what was meant, closest first: within a third of the name's length
 * (at least 1, at most 3 edits), as git and clap judge it; a name that starts with what was typed counts as close too.
 */
export function suggestions(typed: string, known: Iterable<string>): string[] {
  const t = typed.toLowerCase();
  const scored: { name: string; distance: number }[] = [];
  for (const name of new Set(known)) {
    const n = name.toLowerCase();
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(t.length, n.length) / 3)));
    const distance = editDistance(t, n);
    if (distance <= limit || (t.length >= 3 && n.startsWith(t))) scored.push({ name, distance });
  }
  return scored.sort((x, y) => x.distance - y.distance || x.name.localeCompare(y.name)).map((s) => s.name);
}

/** ` (did you mean X?)`, or `(did you mean X or Y?)` for a tie at the closest distance, or "" when nothing is close. */
export function didYouMean(typed: string, known: Iterable<string>): string {
  const found = suggestions(typed, known);
  if (found.length === 0) return "";
  const best = found.filter(
    (n) =>
      editDistance(typed.toLowerCase(), n.toLowerCase()) ===
      editDistance(typed.toLowerCase(), found[0]!.toLowerCase()),
  );
  return ` (did you mean ${best.slice(0, 3).join(" or ")}?)`;
}

/**
 * node:util's parseArgs, strict, with an unknown option reported in one line that names the closest known one:
 * `unknown option --rwos (did you mean --rows?)`. Node's own message ends with advice about positionals that only
 * confuses a mistyped flag. Every command line of the project parses through this, so each gives the same hint.
 */
export function parseOptions<T extends Omit<ParseArgsConfig, "strict">>(
  config: T,
): ReturnType<typeof parseArgs<T & { strict: true }>> {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (err) {
    const typed = /Unknown option '([^']+)'/.exec((err as Error).message)?.[1];
    if ((err as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION" || !typed) throw err;
    const known = Object.entries(config.options ?? {}).flatMap(([name, o]) => [
      `--${name}`,
      ...(o.short ? [`-${o.short}`] : []),
    ]);
    throw new UnknownOptionError(`unknown option ${typed}${didYouMean(typed, known)}`, { cause: err });
  }
}

/** An unknown option, with the hint: a TypeError with Node's code, so that handlers of parseArgs's errors still match. */
export class UnknownOptionError extends TypeError {
  override readonly name = "UnknownOptionError";
  readonly code = "ERR_PARSE_ARGS_UNKNOWN_OPTION";
}
