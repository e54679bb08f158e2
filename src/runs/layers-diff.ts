import { diffFlat, flatten, formatValue, sameValue, type ConfigChange } from './flatten';

/**
 * Layer lists compared as lists, not as positional keys: an inserted layer is
 * one change ("dropout inserted at 7"), not a shift of every `layers[i]` key
 * after it. Layers are aligned by a minimum-cost edit script (Levenshtein over
 * layers): keeping a layer costs nothing, changing its settings 1, inserting or
 * removing one 1, swapping its type 1.9 (cheaper than remove + insert, dearer
 * than a plain change). Layers that carry a `name` only align with the same name.
 */

type Layer = Record<string, unknown>;

export type LayerChange =
  | { kind: 'inserted'; at: number; type: string; layer: Layer }
  | { kind: 'removed'; at: number; type: string; layer: Layer }
  | { kind: 'changed'; from: number; at: number; type: string; changes: ConfigChange[] }
  | { kind: 'replaced'; from: number; at: number; type: string; old: Layer; new: Layer };

const REPLACE = 1.9;

function typeOf(l: Layer): string {
  return String(l.type ?? '?');
}

function substitution(a: Layer, b: Layer): number {
  if (typeof a.name === 'string' && typeof b.name === 'string' && a.name !== b.name) return Infinity;
  if (typeOf(a) !== typeOf(b)) return REPLACE;
  return sameValue(a, b) ? 0 : 1;
}

/** The changes that turn layer list `a` into `b`, in order of position. */
export function alignLayers(a: Layer[], b: Layer[]): LayerChange[] {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + substitution(a[i - 1], b[j - 1]));
    }
  }
  const out: LayerChange[] = [];
  let i = a.length;
  let j = b.length;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i][j] === d[i - 1][j - 1] + substitution(a[i - 1], b[j - 1])) {
      const [x, y] = [a[i - 1], b[j - 1]];
      if (typeOf(x) !== typeOf(y))
        out.push({ kind: 'replaced', from: i - 1, at: j - 1, type: typeOf(y), old: x, new: y });
      else if (!sameValue(x, y))
        out.push({
          kind: 'changed',
          from: i - 1,
          at: j - 1,
          type: typeOf(y),
          changes: diffFlat(flatten(x), flatten(y)),
        });
      i--, j--;
    } else if (j > 0 && d[i][j] === d[i][j - 1] + 1) {
      // Walking backwards, insertions first: read forwards, a removal comes before the insertion in its place.
      out.push({ kind: 'inserted', at: j - 1, type: typeOf(b[j - 1]), layer: b[j - 1] });
      j--;
    } else {
      out.push({ kind: 'removed', at: i - 1, type: typeOf(a[i - 1]), layer: a[i - 1] });
      i--;
    }
  }
  return out.reverse();
}

/** `rate 0.5, activation relu`: a layer's settings besides its type. */
function settings(l: Layer): string {
  return Object.entries(l)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k} ${formatValue(v)}`)
    .join(', ');
}

function changeText(c: ConfigChange): string {
  if (c.kind === 'added') return `${c.key} ${formatValue(c.new)} (added)`;
  if (c.kind === 'removed') return `${c.key} ${formatValue(c.old)} (removed)`;
  return `${c.key} ${formatValue(c.old)} -> ${formatValue(c.new)}`;
}

/** One line per change: "dropout inserted at 7 (rate 0.5)", "dense at 5: units 120 -> 64". */
export function describeLayerChange(c: LayerChange): string {
  const withSettings = (l: Layer) => (settings(l) ? ` (${settings(l)})` : '');
  switch (c.kind) {
    case 'inserted':
      return `${c.type} inserted at ${c.at}${withSettings(c.layer)}`;
    case 'removed':
      return `${c.type} removed from ${c.at}${withSettings(c.layer)}`;
    case 'changed':
      return `${c.type} at ${c.at}${c.from === c.at ? '' : ` (was ${c.from})`}: ${c.changes.map(changeText).join('; ')}`;
    case 'replaced':
      return `${typeOf(c.old)} at ${c.from} replaced by ${c.type}${withSettings(c.new)}`;
  }
}

/** The layer list of a resolved config, or undefined when it has none (another kind of model). */
export function layersOf(resolved: Record<string, unknown> | undefined): Layer[] | undefined {
  const layers = (resolved?.model as { layers?: unknown } | undefined)?.layers;
  return Array.isArray(layers) && layers.every((l) => typeof l === 'object' && l !== null && !Array.isArray(l))
    ? (layers as Layer[])
    : undefined;
}
