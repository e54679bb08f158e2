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
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Names from Keras and PyTorch (and snake_case spellings) for what this project calls
 * otherwise, keyed by their normalized form (lower case, no '_' or '-'). Only suggested
 * when the target is one of the names valid at that place.
 */
const ALIASES: Record<string, readonly string[]> = {
  lr: ['learningRate'],
  learningrate: ['learningRate'],
  eps: ['epsilon'],
  unitsout: ['units'],
  outfeatures: ['units'],
  outputdim: ['units'],
  outchannels: ['filters'],
  numfilters: ['filters'],
  nbfilter: ['filters'],
  stride: ['strides'],
  p: ['rate'],
  dropoutrate: ['rate'],
  linear: ['dense'],
  conv: ['conv2d'],
  maxpool2d: ['maxPooling2d'],
  maxpool: ['maxPooling2d'],
  avgpool2d: ['averagePooling2d'],
  avgpool: ['averagePooling2d'],
  adaptiveavgpool2d: ['globalAveragePooling2d'],
  globalavgpool2d: ['globalAveragePooling2d'],
  batchnorm2d: ['batchNormalization'],
  batchnorm: ['batchNormalization'],
  nepochs: ['epochs'],
  numepochs: ['epochs'],
  maxepochs: ['epochs'],
  optim: ['optimizer'],
  crossentropyloss: ['softmaxCrossEntropy'],
  sparsecategoricalcrossentropy: ['softmaxCrossEntropy'],
  mseloss: ['meanSquaredError'],
  l1loss: ['meanAbsoluteError'],
};

const normalize = (s: string) => s.toLowerCase().replace(/[_-]/g, '');

/** A candidate that is `input` in another spelling (kernel_size, Conv2D) or under another library's name (lr, Linear). */
function aliasOf(input: string, candidates: readonly string[]): string | undefined {
  const key = normalize(input);
  const same = candidates.find((c) => normalize(c) === key);
  if (same !== undefined) return same;
  return ALIASES[key]?.find((a) => candidates.includes(a));
}

export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const alias = aliasOf(input, candidates);
  if (alias !== undefined && alias !== input) return alias;
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
