// Shared pieces of the fuzz suite: hostile values that broke doors before, and the checks every door's output must pass.
import fc from "fast-check";

/** Numbers and number-like strings that once broke a door: overflow, NaN words, huge and tiny values. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(1e200, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -0, 0, 1, 10.5),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom("1e200", "1e400", "-1e400", "NaN", "Infinity", "nan", "", " ", "0x10"),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** Mostly a valid value, sometimes a hostile one: a row must get past its other fields for a bad one to matter. */
export function mostly<T>(
  valid: fc.Arbitrary<T>,
  hostile: fc.Arbitrary<unknown>,
  validWeight = 4,
): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: validWeight, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

/** Strings that try to climb out of a folder or change scheme. */
export const hostilePath: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "../../../../etc",
    "/etc",
    "file:///etc",
    "gs://other-bucket/runs/x/prepare/a1",
    "%2e%2e",
    "a/../../b",
    "a\\..\\b",
    "goog",
    "\u0000",
    "",
  ),
  fc
    .array(fc.constantFrom("..", ".", "a", "runs", "/", "%2e", "\\", "x.y", ""), { maxLength: 6 })
    .map((parts) => parts.join("/")),
  fc.string({ maxLength: 40 }),
);

/** Every number anywhere in a JSON-like value is finite. */
export function allFinite(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(allFinite);
  if (value !== null && typeof value === "object") return Object.values(value).every(allFinite);
  return true;
}

/** Modest run counts: CI has two cores. */
export const RUNS = { cheap: 300, io: 25 } as const;
