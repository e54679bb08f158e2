import { varyingKeys, type Flat } from './flatten';

/**
 * Which config values a list of runs shows, and under what short headers.
 * Plain functions of resolved configs, shared by `pipeline ls` and anything
 * else that tabulates runs: keys that differ among the runs, grouped (data,
 * architecture, training, the rest), with the layer keys collapsed into one
 * architecture summary (`conv6-pool-conv16-pool-d120-d84-d10`) so an inserted
 * layer is one changed cell instead of a dozen shifted `model.layers[i]` keys.
 */

export interface ConfigColumn {
  /** A dotted config key, or `arch` for the architecture summary. */
  key: string;
  /** Short header: `lr` for training.optimizer.learningRate, the last part of other keys. */
  header: string;
}

/** Headers people use for the keys that change most. */
const SHORT: Record<string, string> = {
  'dataset.name': 'data',
  'training.optimizer.learningRate': 'lr',
  'training.optimizer.type': 'optimizer',
  'training.batchSize': 'batch',
  'training.epochs': 'epochs',
  'training.loss': 'loss',
  'dataset.validationSplit': 'valSplit',
  seed: 'seed',
};

/** Config keys that never become columns: the run column names the experiment, descriptions are prose, the sweep section does not change what a run trains. */
export function notAColumn(key: string): boolean {
  return key === 'name' || key === 'description' || key === 'version' || key === 'sweep' || key.startsWith('sweep.');
}

const LAYER_KEY = /^model\.layers\[/;
const VAGUE = new Set(['train', 'test', 'validation', 'type', 'name', 'value', 'min', 'max', 'every']);

function num(v: unknown): string {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => x === v[0])) return String(v[0]);
  return Array.isArray(v) ? v.join('x') : String(v);
}

/** One layer in a few characters: conv6 (k5 when the kernel is not 3), pool, d120, drop0.5, bn; flatten is implied. */
function layerWord(layer: Record<string, unknown>): string | undefined {
  const t = String(layer.type);
  switch (t) {
    case 'conv2d': {
      const k = layer.kernelSize === undefined ? '3' : num(layer.kernelSize);
      return `conv${layer.filters}${k === '3' ? '' : `k${k}`}`;
    }
    case 'maxPooling2d':
    case 'averagePooling2d': {
      const p = layer.poolSize === undefined ? '2' : num(layer.poolSize);
      return `${t === 'maxPooling2d' ? 'pool' : 'avgpool'}${p === '2' ? '' : p}`;
    }
    case 'dense':
      return `d${layer.units}`;
    case 'dropout':
      return `drop${layer.rate}`;
    case 'batchNormalization':
      return 'bn';
    case 'globalAveragePooling2d':
      return 'gap';
    case 'flatten':
      return undefined;
    case 'activation':
      return String(layer.activation);
    case 'zeroPadding2d':
      return 'pad';
    default:
      return t;
  }
}

/** `conv6-pool-conv16-pool-d120-d84-d10`, or undefined when the config has no layer list. */
export function archSummary(resolved: Record<string, unknown> | undefined): string | undefined {
  const layers = (resolved?.model as { layers?: unknown } | undefined)?.layers;
  if (!Array.isArray(layers)) return undefined;
  return layers
    .filter((l): l is Record<string, unknown> => typeof l === 'object' && l !== null)
    .map(layerWord)
    .filter((w): w is string => w !== undefined)
    .join('-');
}

function groupOf(key: string): number {
  if (key.startsWith('dataset.')) return 0;
  if (key.startsWith('model.') || key === 'arch') return 1;
  if (key.startsWith('training.')) return 2;
  return 3;
}

/**
 * The config columns for these runs: keys whose value differs, grouped, the
 * well-known keys (lr, batch, ...) first within their group. Layer keys become
 * one `arch` column when the summaries differ; when only a layer's settings
 * changed (same summary), those keys stay, headed by layer: `L5.activation`.
 */
export function configColumns(configs: Array<Record<string, unknown> | undefined>, flats: Flat[]): ConfigColumn[] {
  const keys = varyingKeys(flats, notAColumn);
  const archs = configs.map(archSummary);
  const archVaries = archs.some((a) => a !== archs[0]);
  const chosen = keys.filter((k) => !(archVaries && LAYER_KEY.test(k)) && !followsType(k, keys, flats));
  if (archVaries) chosen.unshift('arch');
  const rank = (k: string) => groupOf(k) * 2 + (k in SHORT || k === 'arch' ? 0 : 1);
  const ordered = chosen
    .map((k, i) => ({ k, i }))
    .sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i)
    .map((x) => x.k);
  return withHeaders(ordered);
}

/**
 * A setting that exists only because of a `type` that differs (adam's beta1 beside sgd's momentum):
 * the type column says it; settings every run has (learningRate) still show.
 */
function followsType(key: string, varying: string[], flats: Flat[]): boolean {
  const dot = key.lastIndexOf('.');
  if (dot < 0 || LAYER_KEY.test(key)) return false;
  const typeKey = `${key.slice(0, dot)}.type`;
  return key !== typeKey && varying.includes(typeKey) && flats.some((f) => !f.has(key));
}

/** Short, unique headers: the known abbreviation, else the shortest tail of the key that no other column shares. */
export function withHeaders(keys: string[]): ConfigColumn[] {
  const parts = (k: string) => k.replace(/^model\.layers\[(\d+)\]\./, 'L$1.').split('.');
  // A layer's setting keeps its layer (`L5.units`): `units` alone would not say which.
  // So does a word that says little alone (`limit.train`, `schedule.type`).
  const tail = (k: string) => (LAYER_KEY.test(k) || VAGUE.has(parts(k).at(-1)!) ? -2 : -1);
  const headers = keys.map((k) => SHORT[k] ?? (k === 'arch' ? 'arch' : parts(k).slice(tail(k)).join('.')));
  for (let round = 2; round < 8; round++) {
    const counts = new Map<string, number>();
    for (const h of headers) counts.set(h, (counts.get(h) ?? 0) + 1);
    let clash = false;
    keys.forEach((k, i) => {
      if ((counts.get(headers[i]) ?? 0) > 1 && !(k in SHORT)) {
        headers[i] = parts(k).slice(-round).join('.');
        clash = true;
      }
    });
    if (!clash) break;
  }
  return keys.map((key, i) => ({ key, header: headers[i] }));
}

/** The header a config key gets on its own (for --columns lr, --filter batch=64). */
export function shortHeader(key: string): string | undefined {
  return SHORT[key];
}

export const SHORT_HEADERS: Readonly<Record<string, string>> = SHORT;
