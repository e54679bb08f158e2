import * as fs from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { ConfigError, type Diagnostic } from '../errors';
import { SourceMap } from './source-map';

/** Limits that make hostile files fail fast instead of exhausting memory or the stack. */
export const LIMITS = {
  bytes: 1024 * 1024,
  aliases: 100,
  depth: 64,
};

/** Keys that could reach an object's prototype if some consumer merged them naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface Parsed {
  file: string;
  text: string;
  doc: Document;
  map: SourceMap;
  /** The document as plain data (objects, arrays, scalars). */
  data: unknown;
}

function fail(file: string, message: string, line = 0, column = 0, excerpt?: string): never {
  throw new ConfigError([{ file, line, column, path: '', message, excerpt }]);
}

/** Reads the file as UTF-8 text, refusing what cannot be an experiment (directories, binary, huge files). */
export function readSource(file: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(file, code === 'ENOENT' ? 'no such file' : `cannot read the file (${code})`);
  }
  if (stat.isDirectory()) fail(file, 'is a directory, not an experiment file');
  if (!stat.isFile()) fail(file, 'is not a regular file');
  if (stat.size > LIMITS.bytes) fail(file, `is ${stat.size} bytes; experiment files are limited to ${LIMITS.bytes} bytes`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    fail(file, `cannot read the file (${(e as NodeJS.ErrnoException).code})`);
  }
  if (bytes.includes(0)) fail(file, 'is a binary file, not YAML text (it contains NUL bytes)');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(file, 'is not valid UTF-8 text');
  }
  // A BOM is legal at the start of a YAML stream; drop it so columns count from the first real character.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function parseExperimentText(file: string, text: string): Parsed {
  const counter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, {
      lineCounter: counter,
      uniqueKeys: true,
      prettyErrors: false,
      strict: true,
      // YAML 1.2 core schema only: no !!binary/!!set/!!omap, no tags that construct objects.
      schema: 'core',
      customTags: [],
      resolveKnownTags: false,
      merge: false,
    });
  } catch (e) {
    // The parser recurses; absurd nesting overflows the stack before our depth check can run.
    fail(file, e instanceof RangeError ? `nesting is too deep (more than ${LIMITS.depth} levels)` : `cannot parse: ${(e as Error).message}`);
  }
  const map = new SourceMap(file, text, doc, counter);
  const located = (offset: number, message: string): Diagnostic => {
    const pos = map.at(offset);
    return { file, line: pos.line, column: pos.column, path: '', message, excerpt: map.excerpt(pos) };
  };

  const problems: Diagnostic[] = [];
  for (const err of doc.errors) problems.push(located(err.pos[0], yamlMessage(err.code, err.message)));
  // Warnings include unresolved tags (`!!python/object`, `!Ref`): treat them as errors, never guess.
  for (const w of doc.warnings) problems.push(located(w.pos[0], yamlMessage(w.code, w.message)));
  if (problems.length) throw new ConfigError(problems);

  checkStructure(doc, located, problems);
  if (problems.length) throw new ConfigError(problems);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LIMITS.aliases });
  } catch (e) {
    const msg = (e as Error).message;
    if (/alias/i.test(msg)) fail(file, `too many alias expansions (limit ${LIMITS.aliases}): refusing a file that expands exponentially`, 1, 1);
    fail(file, `cannot read the document: ${msg}`);
  }
  return { file, text, doc, map, data };
}

/** Tags, prototype-polluting keys, and depth, checked on the syntax tree where positions are exact. */
function checkStructure(doc: Document, located: (offset: number, m: string) => Diagnostic, problems: Diagnostic[]): void {
  let aliases = 0;
  visit(doc, {
    Node(_key, node, path) {
      const n = node as Node;
      if (n.tag && !n.tag.startsWith('tag:yaml.org,2002:')) {
        problems.push(located(n.range?.[0] ?? 0, `custom tag "${n.tag}" is not allowed; experiment files hold plain data`));
      } else if (n.tag && !/^tag:yaml.org,2002:(str|int|float|bool|null|map|seq)$/.test(n.tag)) {
        problems.push(located(n.range?.[0] ?? 0, `tag "${n.tag.replace('tag:yaml.org,2002:', '!!')}" is not allowed; experiment files hold plain data`));
      }
      if (isAlias(n) && ++aliases > LIMITS.aliases) {
        problems.push(located(n.range?.[0] ?? 0, `too many aliases (limit ${LIMITS.aliases})`));
        return visit.BREAK;
      }
      const depth = path.filter((p) => isMap(p) || isSeq(p)).length;
      if (depth > LIMITS.depth) {
        problems.push(located(n.range?.[0] ?? 0, `nesting is too deep (more than ${LIMITS.depth} levels)`));
        return visit.BREAK;
      }
      return undefined;
    },
    Pair(_key, pair) {
      if (isPair(pair) && isScalar(pair.key) && FORBIDDEN_KEYS.has(String(pair.key.value))) {
        problems.push(located(pair.key.range?.[0] ?? 0, `key "${String(pair.key.value)}" is not allowed`));
      }
      return undefined;
    },
  });
}

/** The yaml library's messages, reworded where the raw one would puzzle a user. */
function yamlMessage(code: string, raw: string): string {
  const first = raw.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear once per mapping';
    case 'TAB_AS_INDENT':
      return 'tab character used for indentation; YAML indents with spaces';
    case 'TAG_RESOLVE_FAILED': {
      const tag = /Unresolved tag: (\S+)/.exec(first)?.[1]?.replace('tag:yaml.org,2002:', '!!') ?? first;
      return `tag "${tag}" is not allowed; experiment files hold plain data`;
    }
    default:
      return `YAML syntax error: ${first}`;
  }
}
