import * as fs from 'node:fs';
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { ConfigError, type Diagnostic } from '../errors';
import { sortDiagnostics } from './diagnostics';
import { SourceMap } from './source-map';

/** Limits that make hostile files fail fast instead of exhausting memory or the stack. */
export const LIMITS = {
  bytes: 1024 * 1024,
  aliases: 100,
  depth: 64,
};

/** Keys that could reach an object's prototype if some consumer merged them naively. */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

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
  if (stat.size > LIMITS.bytes)
    fail(file, `is ${stat.size} bytes; experiment files are limited to ${LIMITS.bytes} bytes`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    fail(file, `cannot read the file (${(e as NodeJS.ErrnoException).code})`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) failAtByte(file, bytes, nul, 'NUL byte: this is a binary file, not YAML text');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // A fatal decoder throws only on invalid UTF-8: find and show the first bad byte.
    const bad = firstInvalidUtf8(bytes);
    failAtByte(
      file,
      bytes,
      bad,
      `byte 0x${bytes[bad].toString(16).padStart(2, '0')} is not valid UTF-8: experiment files are UTF-8 text`,
    );
  }
  // A BOM is legal at the start of a YAML stream; drop it so columns count from the first real character.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Fails at the line and column of a byte offset (columns count characters, as everywhere else). */
function failAtByte(file: string, bytes: Buffer, offset: number, message: string): never {
  const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
  let line = 1;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) line++;
  const column = bytes.subarray(lineStart, offset).toString('utf8').length + 1;
  fail(file, message, line, column);
}

/**
 * Offset of the first byte that makes the text invalid UTF-8. Binary search on
 * prefixes: a streaming decoder accepts a prefix that ends mid-character, so
 * "this prefix is valid" is monotone in its length.
 */
function firstInvalidUtf8(bytes: Buffer): number {
  const validPrefix = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false; // invalid UTF-8 in the prefix
    }
  };
  let lo = 0; // validPrefix(lo) holds
  let hi = bytes.length; // validPrefix(hi) fails (the whole text did)
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid;
  }
  // Byte `lo` broke the text; if it interrupted a multi-byte sequence (`café` in Latin-1: 0xE9 then a
  // newline), the culprit is that sequence's lead byte.
  for (let k = 1; k <= 3 && lo - k >= 0; k++) {
    const b = bytes[lo - k];
    if (b >= 0xc0) return lo - k;
    if (b < 0x80) break;
  }
  return lo;
}

/**
 * A cheap, conservative estimate of nesting depth, before the real parser
 * runs: the yaml parser recurses once per level and overflows the stack at a
 * few hundred levels, so a file like 10,000 `[` must be refused before it is
 * parsed. Counts unclosed flow brackets outside quotes and comments, block
 * indentation levels, and compact `- - -` entries. It may overestimate (a `[`
 * inside a plain scalar), so it only refuses at twice the real limit, which
 * the syntax-tree check enforces exactly. Returns the offset where the
 * estimate first exceeds that bound.
 */
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

export function prescanDepth(text: string, bound = LIMITS.depth * 2): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '"' | "'" | undefined;
  let i = 0;
  while (i < text.length) {
    // Start of a line: block structure (only outside flow collections and quoted scalars).
    let lineDepth = indents.length;
    let prev = '\n';
    if (flow === 0 && !quote) {
      let indent = 0;
      while (text[i + indent] === ' ') indent++;
      const first = text[i + indent];
      if (first !== undefined && first !== '\n' && first !== '\r' && first !== '#') {
        while (indents.length && indents[indents.length - 1] >= indent) indents.pop();
        indents.push(indent);
        lineDepth = indents.length;
        i += indent; // so a line that is too deep is reported at its first character
        if (indent > 0) prev = ' ';
      }
    }
    for (; i < text.length && text[i] !== '\n'; i++) {
      const c = text[i];
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '#' && isSpace(prev)) {
        while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      } else if (
        (c === '"' || c === "'") &&
        (isSpace(prev) || prev === '[' || prev === '{' || prev === ',' || prev === ':')
      ) {
        quote = c;
      } else if (c === '[' || c === '{') {
        flow++;
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      } else if ((c === '-' || c === '?') && flow === 0 && isSpace(prev) && isSpace(text[i + 1] ?? ' ')) {
        lineDepth++; // `- - x`: each indicator opens one more level
      }
      if (lineDepth + flow > bound) return i;
      prev = c;
    }
    i++; // the newline
  }
  return undefined;
}

export function parseExperimentText(file: string, text: string): Parsed {
  const counter = new LineCounter();
  const tooDeep = prescanDepth(text);
  if (tooDeep !== undefined) {
    const map = new SourceMap(file, text, undefined, counter);
    const lineStart = text.lastIndexOf('\n', tooDeep - 1) + 1;
    const pos = { line: text.slice(0, lineStart).split('\n').length, column: tooDeep - lineStart + 1 };
    fail(file, `nesting is too deep (more than ${LIMITS.depth} levels)`, pos.line, pos.column, map.excerpt(pos));
  }
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
      // Every key is a string (`42:` is the key "42"); a list or mapping as a key is an error.
      stringKeys: true,
      // Problems are reported as diagnostics, never printed by the library itself.
      logLevel: 'error',
    });
  } catch (e) {
    // The parser recurses; absurd nesting overflows the stack before our depth check can run.
    fail(
      file,
      e instanceof RangeError
        ? `nesting is too deep (more than ${LIMITS.depth} levels)`
        : `cannot parse: ${(e as Error).message}`,
    );
  }
  const map = new SourceMap(file, text, doc, counter);
  const located = (offset: number, message: string): Diagnostic => {
    const pos = map.at(offset);
    return { file, line: pos.line, column: pos.column, path: '', message, excerpt: map.excerpt(pos) };
  };

  // Warnings include unresolved tags (`!!python/object`, `!Ref`): treat them as errors, never guess.
  const raw = [...doc.errors, ...doc.warnings];
  // The parser can overflow its stack below the pre-scan's bound (mixed block and flow nesting);
  // it then reports one error per level: say it once.
  const overflow = raw.find((e) => /Maximum call stack size exceeded/.test(e.message));
  if (overflow)
    throw new ConfigError([located(overflow.pos[0], `nesting is too deep (more than ${LIMITS.depth} levels)`)]);
  // A tab used as indentation garbles the structure of everything after it: report the tabs alone.
  const tabs = raw.filter((e) => e.code === 'TAB_AS_INDENT');
  // The parser often reports one mistake twice at the same place, in two wordings: keep the first.
  const firstAtEachPlace = (tabs.length ? tabs : raw).filter(
    (e, i, all) => all.findIndex((x) => x.pos[0] === e.pos[0]) === i,
  );
  const problems: Diagnostic[] = firstAtEachPlace.map((e) => {
    const opened = unclosedOpener(doc, e.code, e.message, e.pos[0]);
    if (opened) return located(opened.at, opened.message);
    return located(e.pos[0], yamlMessage(e.code, e.message));
  });
  if (problems.length) throw new ConfigError(sortDiagnostics(problems));

  const firstAlias = checkStructure(doc, located, problems);
  if (problems.length) throw new ConfigError(sortDiagnostics(problems));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: LIMITS.aliases });
  } catch (e) {
    const msg = (e as Error).message;
    if (/Excessive alias count/.test(msg)) {
      const d = located(
        firstAlias ?? 0,
        `too many alias expansions (limit ${LIMITS.aliases}): refusing a file that expands exponentially`,
      );
      throw new ConfigError([d]);
    }
    fail(file, `cannot read the document: ${msg}`);
  }
  return { file, text, doc, map, data };
}

/**
 * Tags, prototype-polluting keys, aliases, numbers and depth, checked on the
 * syntax tree where positions are exact. Returns the offset of the first
 * alias, where an alias bomb is reported.
 */
function checkStructure(
  doc: Document,
  located: (offset: number, m: string) => Diagnostic,
  problems: Diagnostic[],
): number | undefined {
  let aliases = 0;
  let firstAlias: number | undefined;
  visit(doc, {
    Node(_key, node, path) {
      const n = node as Node;
      const at = n.range?.[0] ?? 0;
      if (n.tag && !n.tag.startsWith('tag:yaml.org,2002:')) {
        problems.push(located(at, `custom tag "${n.tag}" is not allowed; experiment files hold plain data`));
      } else if (n.tag && !/^tag:yaml.org,2002:(str|int|float|bool|null|map|seq)$/.test(n.tag)) {
        problems.push(
          located(
            at,
            `tag "${n.tag.replace('tag:yaml.org,2002:', '!!')}" is not allowed; experiment files hold plain data`,
          ),
        );
      }
      if (isAlias(n)) {
        firstAlias ??= at;
        if (++aliases > LIMITS.aliases) {
          problems.push(located(at, `too many aliases (limit ${LIMITS.aliases})`));
          return visit.BREAK;
        }
        if (!n.resolve(doc))
          problems.push(located(at, `unknown alias *${n.source}: define &${n.source} before using it`));
      }
      // .inf and .nan are YAML numbers but no setting wants them, and JSON (the resolved experiment) cannot hold them.
      if (isScalar(n) && typeof n.value === 'number' && !Number.isFinite(n.value)) {
        problems.push(located(at, `expected a finite number, found ${n.source ?? String(n.value)}`));
      }
      const depth = path.filter((p) => isMap(p) || isSeq(p)).length;
      if (depth > LIMITS.depth) {
        problems.push(located(at, `nesting is too deep (more than ${LIMITS.depth} levels)`));
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
  return firstAlias;
}

/**
 * The parser notices an unclosed quote or bracket where the file ends or the
 * next key starts; the user needs to see where it was opened. Finds the
 * latest quoted scalar or flow collection that starts before the error and
 * runs up to it.
 */
function unclosedOpener(
  doc: Document,
  code: string,
  message: string,
  pos: number,
): { at: number; message: string } | undefined {
  const quote = code === 'MISSING_CHAR' && /closing "quote|closing 'quote/.test(message);
  const bracket =
    code === 'BAD_INDENT' ? /must be sufficiently indented and end with a ([\]}])/.exec(message)?.[1] : undefined;
  if (!quote && !bracket) return undefined;
  let best: Node | undefined;
  visit(doc, {
    Node(_key, node) {
      const n = node as Node;
      const r = n.range;
      if (!r || r[0] >= pos || r[2] < pos) return;
      const fits = quote
        ? isScalar(n) && (n.type === 'QUOTE_DOUBLE' || n.type === 'QUOTE_SINGLE')
        : (bracket === ']' ? isSeq(n) : isMap(n)) && (n as { flow?: boolean }).flow === true;
      if (fits && (!best || r[0] > best.range![0])) best = n;
    },
  });
  if (!best) return undefined;
  const what = quote
    ? 'this quoted string is never closed'
    : `this ${bracket === ']' ? '[' : '{'} is never closed with ${bracket}`;
  return { at: best.range![0], message: `YAML syntax error: ${what}` };
}

/** The yaml library's messages, reworded where the raw one would puzzle a user. */
function yamlMessage(code: string, raw: string): string {
  const first = raw.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear once per mapping';
    case 'TAB_AS_INDENT':
      return 'tab character used for indentation; YAML indents with spaces';
    case 'MULTIPLE_DOCS':
      return 'a second document (---): an experiment file holds exactly one';
    case 'NON_STRING_KEY':
      return 'a key must be a plain name, not a list or mapping';
    case 'TAG_RESOLVE_FAILED': {
      const tag = /Unresolved tag: (\S+)/.exec(first)?.[1]?.replace('tag:yaml.org,2002:', '!!') ?? first;
      return `tag "${tag}" is not allowed; experiment files hold plain data`;
    }
    default:
      return `YAML syntax error: ${first}`;
  }
}
