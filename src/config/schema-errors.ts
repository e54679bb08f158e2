import type { ErrorObject } from 'ajv';
import type { Diagnostic } from '../errors';
import { didYouMean, suggest } from '../util/suggest';
import { diagnosticAt } from './diagnostics';
import { fromPointer, type PathSeg } from './paths';
import { branchNames, type JsonSchema } from './schema-walk';
import type { SourceMap } from './source-map';
import { NAME_PATTERN } from '../schema/experiment';

/**
 * ajv's errors turned into messages a person can act on (as ESLint does):
 * one per problem, saying where, what was expected and what was found, with
 * a suggestion for near-miss names. Errors from branches of a failed `anyOf`
 * are folded into one "expected A or B" message.
 */
export function schemaDiagnostics(
  errors: readonly ErrorObject[],
  map: SourceMap,
  kindOf: (path: PathSeg[]) => string,
): Diagnostic[] {
  const anyOfFailures = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  // `unit: 120` where `units` is required: the unknown key's "did you mean" says it all, so the missing key is not reported too.
  const suggested = new Set(
    errors
      .filter((e) => e.keyword === 'additionalProperties')
      .map((e) => {
        const known = Object.keys((e.parentSchema as JsonSchema | undefined)?.properties ?? {});
        return `${e.instancePath}\0${suggest(String((e.params as { additionalProperty: string }).additionalProperty), known) ?? ''}`;
      }),
  );
  const out: Diagnostic[] = [];
  for (const e of errors) {
    if (
      e.keyword === 'required' &&
      suggested.has(`${e.instancePath}\0${(e.params as { missingProperty: string }).missingProperty}`)
    )
      continue;
    // Sub-errors of an anyOf branch are summarized by the anyOf error itself.
    if (anyOfFailures.some((p) => e.schemaPath !== p && e.schemaPath.startsWith(p + '/'))) continue;
    // With a discriminator, ajv also reports the oneOf (and a missing `type` as a missing required key); the discriminator error says it better.
    const discriminated = errors.some((d) => d.keyword === 'discriminator' && d.instancePath === e.instancePath);
    if (
      discriminated &&
      (e.keyword === 'oneOf' ||
        (e.keyword === 'required' && (e.params as { missingProperty?: string }).missingProperty === 'type'))
    )
      continue;
    const d = toDiagnostic(e, map, kindOf);
    if (d) out.push(d);
  }
  return out;
}

/** One ajv error as a diagnostic: a key missing or unknown, an unknown registry type, else a wrong value. */
function toDiagnostic(e: ErrorObject, map: SourceMap, kindOf: (path: PathSeg[]) => string): Diagnostic | undefined {
  const path = fromPointer(e.instancePath);
  const schema = e.parentSchema as JsonSchema | undefined;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const key = String(p.missingProperty);
      const desc = schema?.properties?.[key]?.description;
      return diagnosticAt(map, path, `missing required key "${key}"${desc ? ` (${desc})` : ''}`);
    }
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys(schema?.properties ?? {});
      const where = [...path, key];
      const hint = didYouMean(key, known);
      const list = hint ? '' : `; known keys: ${known.join(', ')}`;
      return diagnosticAt(map, where, `unknown key "${key}"${hint}${list}`, map.locate(where, { key: true }));
    }
    case 'discriminator': {
      const kind = kindOf(path);
      const names = branchNames(schema ?? {});
      if (p.error === 'tag')
        return diagnosticAt(map, path, `missing "type": which ${kind}? one of ${names.join(', ')}`);
      const value = String(p.tagValue);
      const where = [...path, 'type'];
      return diagnosticAt(
        map,
        where,
        `unknown ${kind} type "${value}"${didYouMean(value, names)}; known: ${names.join(', ')}`,
      );
    }
    default:
      return diagnosticAt(map, path, valueMessage(e, schema, p));
  }
}

/** What is wrong with a value whose key is right: what was expected, and what was found. */
function valueMessage(e: ErrorObject, schema: JsonSchema | undefined, p: Record<string, unknown>): string {
  const expected = () => `expected ${describeSchema(schema ?? {})}`;
  switch (e.keyword) {
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      const found = e.data;
      const hint = typeof found === 'string' ? didYouMean(found, allowed) : '';
      return `expected one of ${allowed.join(', ')}; found ${describeValue(found)}${hint}`;
    }
    case 'const':
      return `expected ${JSON.stringify(p.allowedValue)}, found ${describeValue(e.data)}`;
    case 'type': {
      // `- flatten` for `- {type: flatten}`: a registry name where a mapping belongs.
      const names = schema ? branchNames(schema) : [];
      const hint = typeof e.data === 'string' && names.includes(e.data) ? `; did you mean {type: ${e.data}}?` : '';
      return `expected ${describeSchema(schema ?? { type: String(p.type) })}, found ${describeValue(e.data)}${hint}`;
    }
    case 'anyOf':
    case 'oneOf':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${expected()}, found ${describeValue(e.data)}`;
    case 'minItems':
    case 'maxItems':
      return `${expected()}, found ${countOf(e.data)}`;
    case 'minLength':
      return `expected a non-empty string, found ${describeValue(e.data)}`;
    case 'uniqueItems':
      return `expected distinct items, found ${describeValue((e.data as unknown[])[Number(p.i)])} twice`;
    case 'pattern':
      if (p.pattern === NAME_PATTERN)
        return `expected a name usable as a folder (letters, digits, '.', '_', '-', starting with a letter or digit, at most 100 characters), found ${describeValue(e.data)}`;
      return `expected a string matching ${String(p.pattern)}, found ${describeValue(e.data)}`;
    default:
      return `${e.message ?? 'is invalid'} (found ${describeValue(e.data)})`;
  }
}

function countOf(v: unknown): string {
  if (!Array.isArray(v)) return describeValue(v);
  return v.length === 0 ? 'an empty list' : `${v.length} item${v.length === 1 ? '' : 's'}`;
}

/** What a value is, for "found ..." — short and unambiguous. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 37) + '...' : v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v))
    return `a list${v.length <= 4 && v.every((x) => typeof x !== 'object') ? ` ${JSON.stringify(v)}` : ''}`;
  return 'a mapping';
}

function bounds(s: JsonSchema): string {
  const b: string[] = [];
  if (s.minimum !== undefined) b.push(`>= ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) b.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) b.push(`<= ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) b.push(`< ${s.exclusiveMaximum}`);
  return b.length ? ' ' + b.join(' and ') : '';
}

/** What a schema accepts, in words: "an integer >= 1 or a list of 2 integers >= 1". */
export function describeSchema(s: JsonSchema): string {
  if (s.discriminator) return `a mapping with a "${s.discriminator.propertyName}" key`;
  if (s.anyOf) return [...new Set(s.anyOf.map(describeSchema))].join(' or ');
  if (s.oneOf) return [...new Set(s.oneOf.map(describeSchema))].join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return `one of ${s.enum.map(String).join(', ')}`;
  switch (s.type) {
    case 'integer':
      return `an integer${bounds(s)}`;
    case 'number':
      return `a number${bounds(s)}`;
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'object':
      return 'a mapping';
    case 'array': {
      if (Array.isArray(s.items)) {
        const parts = s.items.map(describeSchema);
        const same = parts.every((x) => x === parts[0]);
        return same ? `a list of ${parts.length} ${pluralize(parts[0])}` : `a list [${parts.join(', ')}]`;
      }
      const n =
        s.minItems !== undefined && s.maxItems !== undefined
          ? `${s.minItems} to ${s.maxItems} items`
          : s.minItems !== undefined
            ? `at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`
            : '';
      return n ? `a list of ${n}` : 'a list';
    }
    default:
      return 'a valid value';
  }
}

function pluralize(desc: string): string {
  return desc.replace(/^an? (integer|number|string|list|mapping)/, '$1s');
}
