/**
 * "Did you mean ...?" for unknown names: the nearest candidate by
 * Damerau-Levenshtein distance (case-insensitive), if it is close enough to be
 * a plausible typo rather than a different word.
 */
export function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(input.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(input, c);
    // A candidate that contains the input (or vice versa) is a likely match too: `lr` vs `learningRate` is not, `conv` vs `conv2d` is.
    const contains = input.length >= 3 && c.toLowerCase().startsWith(input.toLowerCase());
    const score = contains ? Math.min(dist, limit) : dist;
    if (score <= limit && score < bestD) {
      best = c;
      bestD = score;
    }
  }
  return best;
}

/** `; did you mean "x"?` or '' — to append to a message. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : `; did you mean "${s}"?`;
}
