import { ConfigError, type Diagnostic } from '../errors';
import { didYouMean } from '../util/suggest';
import { FORBIDDEN_KEYS, parseExperimentText } from './parse';
import { formatPath, parsePath, type PathSeg } from './paths';
import { childSchema, isPlainObject, resolveObjectSchema, type JsonSchema } from './schema-walk';

/**
 * `--set key=value` (Hydra-style): a dotted path into the experiment and a
 * YAML scalar (or flow list). The path must exist in the file or be a key the
 * schema knows at that place; anything else is an error with a suggestion.
 * `--set ~key` removes a key (or a list item) as Hydra's `~key` does, so its
 * default applies again; `key=null` does the same for an optional key whose
 * schema has no null.
 */
export interface Override {
  raw: string;
  path: PathSeg[];
  value: unknown;
  /** `~key`: remove it. */
  remove?: true;
}

function bad(raw: string, message: string): Diagnostic {
  return { file: `--set ${raw}`, line: 0, column: 0, path: '', message };
}

export function parseOverride(raw: string): Override {
  if (raw.startsWith('~')) return parseRemoval(raw);
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new ConfigError([bad(raw, 'expected key=value, e.g. training.optimizer.learningRate=0.01')]);
  const key = raw.slice(0, eq).trim();
  const path = parsePath(key);
  if (!path) throw new ConfigError([bad(raw, `"${key}" is not a dotted path like model.layers[2].units`)]);
  const forbidden = path.find((seg) => typeof seg === 'string' && FORBIDDEN_KEYS.has(seg));
  if (forbidden !== undefined) throw new ConfigError([bad(raw, `key "${forbidden}" is not allowed`)]);
  let value: unknown;
  try {
    // The same parser and safety rules as the file: no tags, no alias bombs, finite numbers.
    value = parseExperimentText(`--set ${raw}`, raw.slice(eq + 1)).data;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(e.diagnostics.map((d) => bad(raw, `invalid value: ${d.message}`)));
  }
  return { raw, path, value: value === undefined ? null : value };
}

function parseRemoval(raw: string): Override {
  const key = raw.slice(1).trim();
  if (key.includes('='))
    throw new ConfigError([
      bad(raw, `~ removes a key and takes no value: write --set ~${key.slice(0, key.indexOf('='))}`),
    ]);
  const path = parsePath(key);
  if (!path)
    throw new ConfigError([bad(raw, `"${key}" is not a dotted path like dataset.imageSize or model.layers[2]`)]);
  return { raw, path, value: undefined, remove: true };
}

/** Applies overrides in order to plain data; returns the diagnostics for paths that do not exist. */
export function applyOverrides(schema: JsonSchema, data: unknown, overrides: readonly Override[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const o of overrides) {
    const msg = setPath(schema, data, o.path, o.value, o.remove === true);
    if (msg) problems.push({ ...bad(o.raw, msg), path: formatPath(o.path) });
  }
  return problems;
}

function setPath(
  schema: JsonSchema,
  root: unknown,
  path: PathSeg[],
  value: unknown,
  remove: boolean,
): string | undefined {
  let node = root;
  let s: JsonSchema | undefined = schema;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    const here = formatPath(path.slice(0, i)) || 'the top level';
    if (typeof seg === 'number') {
      if (!Array.isArray(node)) return `${here} is not a list, so [${seg}] does not exist`;
      if (seg >= node.length) {
        const has =
          node.length === 0
            ? 'is an empty list'
            : `has ${node.length} item${node.length === 1 ? '' : 's'} (indices 0 to ${node.length - 1})`;
        return `${here} ${has}; [${seg}] does not exist`;
      }
    } else {
      if (!isPlainObject(node)) return `${here} is not a mapping, so "${seg}" does not exist`;
      const known: string[] = s ? Object.keys(resolveObjectSchema(s, node).properties ?? {}) : [];
      const open = s && typeof resolveObjectSchema(s, node).additionalProperties === 'object';
      // Own keys only: `in` would see Object.prototype's toString, constructor, ...
      if (!Object.hasOwn(node, seg) && !known.includes(seg) && !open) {
        const candidates = [...new Set([...Object.keys(node), ...known])];
        const hint = didYouMean(seg, candidates);
        return `no key "${seg}" under ${here}${hint || (candidates.length ? `; known keys: ${candidates.join(', ')}` : '')}`;
      }
    }
    const nextSchema: JsonSchema | undefined = s ? childSchema(s, node, seg) : undefined;
    const container = node as Record<string | number, unknown>;
    if (last) {
      const asRemoval = remove || (value === null && typeof seg === 'string' && !allowsNull(nextSchema));
      if (!asRemoval) {
        container[seg] = value;
        return undefined;
      }
      return removeKey(container, seg, s ? resolveObjectSchema(s, node) : undefined, remove);
    }
    if (container[seg] === undefined) {
      // A known key missing from the file: create the mapping so e.g. training.earlyStopping.patience=3 works.
      container[seg] = typeof path[i + 1] === 'number' ? [] : {};
    }
    node = container[seg];
    s = nextSchema;
  }
  return undefined;
}

function allowsNull(s: JsonSchema | undefined): boolean {
  if (!s) return false;
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.includes('null') || s.const === null || (s.anyOf ?? s.oneOf ?? []).some(allowsNull);
}

/** `~key` (or `key=null`): delete a key, or a list item, that is there; a required key cannot go. */
function removeKey(
  container: Record<string | number, unknown>,
  seg: PathSeg,
  parent: JsonSchema | undefined,
  tilde: boolean,
): string | undefined {
  if (Array.isArray(container)) {
    (container as unknown[]).splice(seg as number, 1);
    return undefined;
  }
  const key = String(seg);
  // A key with a default is "required" in the schema yet removable: the default fills it again.
  if (parent?.required?.includes(key) && parent.properties?.[key]?.default === undefined)
    return `a required key cannot be removed${tilde ? '' : ' (null removes an optional key)'}`;
  // Hydra's ~ on a missing key is an error (a typo would pass silently otherwise); null there already holds.
  if (!Object.hasOwn(container, key)) return tilde ? 'not set, so there is nothing to remove' : undefined;
  delete container[key];
  return undefined;
}
