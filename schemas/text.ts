// Counts as a person writes them: "1 trial", "3 trials".

export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
