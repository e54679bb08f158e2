/**
 * Resolved configs as flat maps of dotted keys (`model.layers[2].units`,
 * `training.optimizer.learningRate`), the shape every comparison uses.
 * Values keep their JSON types, so 0.001 and 1e-3 are the same number and
 * "32" (a string) differs from 32.
 */

export type Flat = Map<string, unknown>;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Append an object key to a dotted path; odd keys are bracket-quoted so the path stays unambiguous. */
export function joinKey(prefix: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${prefix}[${JSON.stringify(key)}]`;
  return prefix === '' ? key : `${prefix}.${key}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

/**
 * Leaves are primitives, arrays of primitives (`kernelSize: [3, 3]`, `metrics: [accuracy]`
 * read as one value), and empty objects/arrays. Arrays of objects are indexed: `layers[2]`.
 */
export function flatten(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix !== '') out.set(prefix, {});
    for (const k of keys) flatten(value[k], joinKey(prefix, k), out);
  } else if (Array.isArray(value) && value.length > 0 && !value.every(isPrimitive)) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (prefix !== '') {
    out.set(prefix, value);
  }
  return out;
}

/** Deep equality on JSON values; numbers compare as numbers (NaN equals NaN: both "not a number"). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

export interface ConfigChange {
  key: string;
  kind: 'changed' | 'added' | 'removed';
  old?: unknown;
  new?: unknown;
  /** Set when the JSON type changed, e.g. "string -> number": "32" and 32 are different values. */
  typeChange?: string;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

/** Changes from `a` to `b`, in document order (keys only in `a` stay where they were). */
export function diffFlat(a: Flat, b: Flat): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const key of mergeKeyOrder([...a.keys()], [...b.keys()])) {
    const inA = a.has(key);
    const inB = b.has(key);
    const va = a.get(key);
    const vb = b.get(key);
    if (inA && !inB) changes.push({ key, kind: 'removed', old: va });
    else if (!inA && inB) changes.push({ key, kind: 'added', new: vb });
    else if (!sameValue(va, vb)) {
      const change: ConfigChange = { key, kind: 'changed', old: va, new: vb };
      if (typeName(va) !== typeName(vb)) change.typeChange = `${typeName(va)} -> ${typeName(vb)}`;
      changes.push(change);
    }
  }
  return changes;
}

/**
 * Keys of several documents in one order: each list's order is kept, keys missing
 * from the later list are placed before the next key they preceded.
 */
export function mergeKeyOrder(...lists: string[][]): string[] {
  let merged: string[] = [];
  for (const list of lists) {
    if (merged.length === 0) {
      merged = [...list];
      continue;
    }
    const inList = new Set(list);
    const inMerged = new Set(merged);
    const out: string[] = [];
    let i = 0;
    for (const k of list) {
      if (inMerged.has(k)) {
        while (i < merged.length && merged[i] !== k) {
          if (!inList.has(merged[i])) out.push(merged[i]);
          i++;
        }
        if (i < merged.length) i++;
      }
      out.push(k);
    }
    for (; i < merged.length; i++) if (!inList.has(merged[i])) out.push(merged[i]);
    merged = out;
  }
  return merged;
}

/**
 * Keys whose value is not the same in every config (a key missing from some counts
 * as differing). `ignore` drops keys that are shown elsewhere or are noise.
 */
export function varyingKeys(configs: Flat[], ignore: (key: string) => boolean = () => false): string[] {
  if (configs.length < 2) return [];
  const order: string[] = [];
  const seen = new Set<string>();
  for (const c of configs) for (const k of c.keys()) if (!seen.has(k)) seen.add(k), order.push(k);
  // Put keys in document order of the first config where possible.
  const ordered = mergeKeyOrder([...configs[0].keys()], order);
  return ordered.filter((key) => {
    if (ignore(key)) return false;
    const first = configs[0];
    const has0 = first.has(key);
    const v0 = first.get(key);
    return configs.some((c) => c.has(key) !== has0 || !sameValue(c.get(key), v0));
  });
}

/** A value for a table cell: strings bare unless they would read as another type; absent as '—'. */
export function formatValue(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'string')
    return /^(-?[0-9.eE+-]+|true|false|null|~|)$/.test(v) || v.trim() !== v ? JSON.stringify(v) : v;
  if (typeof v === 'number') return formatNumber(v);
  if (v === null || typeof v === 'boolean') return String(v);
  return JSON.stringify(v).replace(/,/g, ', ');
}

/** Numbers as a person writes them: no float noise (0.30000000000000004 -> 0.3), exponents when tiny. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const p = Number(n.toPrecision(12));
  return String(p);
}
