import { ConfigError, type Diagnostic } from '../errors';
import { defaultNames, MODEL_INPUT, snakeCase } from '../builders/graph';
import { didYouMean } from '../util/suggest';
import { diagnosticAt, sortDiagnostics } from './diagnostics';
import { parsePath, type PathSeg } from './paths';
import { isPlainObject } from './schema-walk';
import type { SourceMap } from './source-map';

/**
 * Reusable blocks: a `blocks:` section defines named groups of layers with
 * parameters; `{block: NAME, PARAM: value, repeat: N}` in model.layers (or in
 * another block) uses one. This stage expands every use into plain layers
 * before defaults and validation, and keeps, for each expanded layer, where it
 * was written (LayerOrigin), so a problem found later is reported at the line
 * the user wrote: the block's own line and the use site, or the use's
 * parameter when the bad value came from there.
 *
 * Names: a use's instance is named by the use (`name`, default `<block>_<n>`;
 * with repeat, `<name>_1` ... `<name>_N`); its last layer (the block's output)
 * carries the instance name, its other layers `<instance>_<their name>`
 * (default: their type and a count within the block). Inside a block,
 * `inputs` names the block's own layers, and `input` is the block's input.
 */

/** Where an expanded layer came from. */
export interface LayerOrigin {
  /** The layer as written: model.layers[k], or blocks.NAME.layers[k]. */
  def: PathSeg[];
  /** For a block's layer: the use in model.layers it was expanded from, and the block. */
  use?: PathSeg[];
  block?: string;
  /** Keys whose value came from a use's parameter (or `inputs`): where that value is written. */
  values: Record<string, PathSeg[]>;
}

interface BlockDef {
  /** False when the definition itself has a problem (already reported): its uses are skipped quietly. */
  ok: boolean;
  name: string;
  path: PathSeg[];
  params: Map<string, Bound>;
  layers: unknown[];
}

/** A value with the place it was written. */
interface Bound {
  value: unknown;
  path: PathSeg[];
}

const USE_KEYS = new Set(['block', 'name', 'inputs', 'repeat']);
const PARAM_REF = /^\$\{([A-Za-z][A-Za-z0-9_]*)\}$/;

function isUse(l: unknown): l is Record<string, unknown> {
  return isPlainObject(l) && 'block' in l;
}

/**
 * Expands blocks in place (model.layers becomes plain layers; `blocks` is
 * removed). Returns undefined when the file uses no blocks: nothing changed,
 * every path means what it says. Throws ConfigError with every problem found.
 */
export function expandBlocks(data: Record<string, unknown>, map: SourceMap): LayerOrigin[] | undefined {
  const model = data.model;
  const layers = isPlainObject(model) && Array.isArray(model.layers) ? (model.layers as unknown[]) : undefined;
  if (data.blocks === undefined && !layers?.some(isUse)) return undefined;
  const x = new Expander(map);
  const defs = x.readBlocks(data.blocks);
  delete data.blocks;
  if (!layers) {
    x.throwIfProblems();
    return undefined;
  }
  layers.forEach((l, k) => {
    const path: PathSeg[] = ['model', 'layers', k];
    if (isUse(l))
      x.expandUse(l, path, { defs, top: path, stack: [], bindings: new Map(), local: (n) => n, prefix: '' });
    else x.emit(l, { def: path, values: {} });
  });
  x.throwIfProblems();
  (model as Record<string, unknown>).layers = x.out;
  return x.origins;
}

interface Scope {
  defs: Map<string, BlockDef>;
  /** The use in model.layers being expanded. */
  top: PathSeg[];
  /** Blocks being expanded, outermost first (to refuse recursion). */
  stack: string[];
  /** Parameter values visible here (a block's parameters, inside that block). */
  bindings: Map<string, Bound>;
  /** Maps a name written here (in `inputs`) to the expanded layer's name. */
  local: (name: string) => string | undefined;
  /** Prefix for names of uses written here. */
  prefix: string;
  /** Inside a block: where names resolved against (for messages). */
  blockName?: string;
}

class Expander {
  readonly out: unknown[] = [];
  readonly origins: LayerOrigin[] = [];
  private readonly problems: Diagnostic[] = [];
  private readonly useCounts = new Map<string, number>();

  constructor(private readonly map: SourceMap) {}

  problem(path: PathSeg[], message: string, key = false): void {
    this.problems.push(diagnosticAt(this.map, path, message, key ? this.map.locate(path, { key: true }) : undefined));
  }

  throwIfProblems(): void {
    if (this.problems.length) throw new ConfigError(sortDiagnostics(this.problems));
  }

  line(path: PathSeg[]): number {
    return this.map.locate(path).line;
  }

  emit(layer: unknown, origin: LayerOrigin): void {
    this.out.push(layer);
    this.origins.push(origin);
  }

  /** The name the model builder will give the last layer so far (`input` before any). */
  lastName(): string {
    if (this.out.length === 0) return MODEL_INPUT;
    const last = this.out[this.out.length - 1] as { name?: unknown; type?: unknown };
    if (typeof last.name === 'string') return last.name;
    const typed = this.out.map((l) => ({ type: String((l as { type?: unknown }).type) }));
    return defaultNames(typed)[typed.length - 1];
  }

  readBlocks(blocks: unknown): Map<string, BlockDef> {
    const defs = new Map<string, BlockDef>();
    if (blocks === undefined) return defs;
    if (!isPlainObject(blocks)) {
      this.problem(['blocks'], 'expected a mapping of block name -> {params, layers}');
      return defs;
    }
    for (const [name, b] of Object.entries(blocks)) {
      const path: PathSeg[] = ['blocks', name];
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name))
        this.problem(path, `block name "${name}": use letters, digits and _, starting with a letter`, true);
      const broken: BlockDef = { ok: false, name, path, params: new Map(), layers: [] };
      if (!isPlainObject(b)) {
        this.problem(path, 'expected a mapping with layers (and params)');
        defs.set(name, broken);
        continue;
      }
      let unknownKeys = false;
      for (const key of Object.keys(b)) {
        if (key === 'params' || key === 'layers') continue;
        this.problem(
          [...path, key],
          `unknown key "${key}"${didYouMean(key, ['params', 'layers'])}; a block has params and layers`,
          true,
        );
        unknownKeys = true;
      }
      if (!Array.isArray(b.layers) || b.layers.length === 0) {
        // `layer:` for `layers:` is already reported as an unknown key with its suggestion.
        if (!unknownKeys)
          this.problem(
            Array.isArray(b.layers) ? [...path, 'layers'] : path,
            'a block needs layers: a list of at least 1 layer',
          );
        defs.set(name, broken);
        continue;
      }
      const params = new Map<string, Bound>();
      if (b.params !== undefined && !isPlainObject(b.params))
        this.problem([...path, 'params'], 'expected a mapping of parameter -> default (null: required)');
      else
        for (const [p, v] of Object.entries(b.params ?? {}))
          params.set(p, { value: v ?? undefined, path: [...path, 'params', p] });
      defs.set(name, { ok: true, name, path, params, layers: b.layers });
    }
    return defs;
  }

  /** Replaces `${param}` values (at any depth) with the parameter's value, recording where each came from. */
  substitute(value: unknown, path: PathSeg[], scope: Scope, values: Record<string, PathSeg[]>, key?: string): unknown {
    if (typeof value === 'string') {
      const m = PARAM_REF.exec(value);
      if (!m) return value;
      const bound = scope.bindings.get(m[1]);
      if (!bound) {
        const known = [...scope.bindings.keys()];
        const where = scope.blockName ? `block "${scope.blockName}"` : 'model.layers (outside any block)';
        this.problem(
          path,
          `unknown block parameter "${m[1]}" in ${where}${didYouMean(m[1], known) || (known.length ? `; parameters: ${known.join(', ')}` : '; it has no parameters')}`,
        );
        return value;
      }
      if (key !== undefined) values[key] = bound.path;
      return structuredClone(bound.value);
    }
    if (Array.isArray(value)) return value.map((v, i) => this.substitute(v, [...path, i], scope, values, key));
    if (isPlainObject(value)) {
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) copy[k] = this.substitute(v, [...path, k], scope, values, key ?? k);
      return copy;
    }
    return value;
  }

  expandUse(use: Record<string, unknown>, path: PathSeg[], scope: Scope): void {
    const blockName = use.block;
    if ('type' in use) return this.problem([...path, 'type'], 'a layer has either `type` or `block`, not both', true);
    if (typeof blockName !== 'string')
      return this.problem([...path, 'block'], 'expected the name of a block from the blocks section');
    const def = scope.defs.get(blockName);
    if (!def) {
      const known = [...scope.defs.keys()];
      return this.problem(
        [...path, 'block'],
        `unknown block "${blockName}"${didYouMean(blockName, known) || (known.length ? `; blocks: ${known.join(', ')}` : '; the file has no blocks section')}`,
      );
    }
    if (!def.ok) return;
    if (scope.stack.includes(blockName)) {
      return this.problem(
        [...path, 'block'],
        `block "${blockName}" uses itself: ${[...scope.stack, blockName].join(' -> ')}; blocks cannot be recursive`,
      );
    }
    const values: Record<string, PathSeg[]> = {};
    const args = this.bindArgs(use, path, def, scope);
    const repeat = this.substitute(use.repeat ?? 1, [...path, 'repeat'], scope, values);
    if (!Number.isInteger(repeat) || (repeat as number) < 1) {
      return this.problem([...path, 'repeat'], `expected an integer >= 1, found ${JSON.stringify(repeat)}`);
    }
    if (!args) return;
    const useName =
      scope.prefix +
      (use.name !== undefined ? String(use.name) : `${blockName}_${this.nextUse(scope.prefix + blockName)}`);
    let input = this.useInput(use, path, scope);
    for (let r = 1; r <= (repeat as number); r++) {
      const instance = repeat === 1 ? useName : `${useName}_${r}`;
      const inner = { ...scope, stack: [...scope.stack, blockName], bindings: args, blockName };
      this.expandInstance(
        def,
        instance,
        input,
        inner,
        r === 1 && use.inputs !== undefined ? [...path, 'inputs'] : undefined,
      );
      // The block's output carries the use's name: a clash with it is the use's `name`.
      if (use.name !== undefined && this.map.has([...path, 'name']))
        this.origins[this.origins.length - 1].values.name = [...path, 'name'];
      input = instance;
    }
  }

  private nextUse(key: string): number {
    const n = (this.useCounts.get(key) ?? 0) + 1;
    this.useCounts.set(key, n);
    return n;
  }

  /** The use's parameters, checked against the block's: unknown keys, missing values. */
  private bindArgs(
    use: Record<string, unknown>,
    path: PathSeg[],
    def: BlockDef,
    scope: Scope,
  ): Map<string, Bound> | undefined {
    const bindings = new Map<string, Bound>();
    let ok = true;
    const declared = [...def.params.keys()];
    for (const [key, value] of Object.entries(use)) {
      if (USE_KEYS.has(key)) continue;
      if (!def.params.has(key)) {
        const list = declared.length ? `its parameters: ${declared.join(', ')}` : 'it has no parameters';
        this.problem(
          [...path, key],
          `unknown parameter "${key}" for block "${def.name}" (line ${this.line(def.path)})${didYouMean(key, declared) || `; ${list}`}`,
          true,
        );
        ok = false;
        continue;
      }
      const values: Record<string, PathSeg[]> = {};
      const v = this.substitute(value, [...path, key], scope, values, key);
      bindings.set(key, { value: v, path: values[key] ?? [...path, key] });
    }
    for (const [p, dflt] of def.params) {
      if (bindings.has(p)) continue;
      if (dflt.value === undefined) {
        this.problem(path, `block "${def.name}" (line ${this.line(def.path)}) needs parameter "${p}"`);
        ok = false;
      } else {
        bindings.set(p, dflt);
      }
    }
    return ok ? bindings : undefined;
  }

  /** The expanded name of what the use takes as input. */
  private useInput(use: Record<string, unknown>, path: PathSeg[], scope: Scope): string {
    const fallback = scope.local(MODEL_INPUT) ?? this.lastName();
    if (use.inputs === undefined) return scope.blockName ? (scope.local('') ?? this.lastName()) : this.lastName();
    if (typeof use.inputs !== 'string') {
      this.problem([...path, 'inputs'], 'a block takes one input: the name of one layer');
      return fallback;
    }
    return this.resolveName(use.inputs, [...path, 'inputs'], scope) ?? fallback;
  }

  private resolveName(name: string, path: PathSeg[], scope: Scope): string | undefined {
    const global = scope.local(name);
    if (global === undefined && scope.blockName) {
      this.problem(
        path,
        `unknown input "${name}" in block "${scope.blockName}": inputs there name the block's own layers, or "input" for the block's input`,
      );
    }
    return global;
  }

  /** One instance of a block: its layers, renamed, with inputs resolved to expanded names. */
  private expandInstance(
    def: BlockDef,
    instance: string,
    input: string,
    scope: Scope,
    inputsFrom: PathSeg[] | undefined,
  ): void {
    const locals = this.localNames(def);
    const last = def.layers.length - 1;
    // Local name -> expanded name; the last layer (the block's output) takes the instance's own name.
    const expanded = new Map(locals.map((n, j) => [n, j === last ? instance : `${instance}_${n}`]));
    let prev = input;
    const inner: Scope = {
      ...scope,
      prefix: `${instance}_`,
      local: (n) => (n === MODEL_INPUT ? input : n === '' ? prev : expanded.get(n)),
    };
    def.layers.forEach((layer, j) => {
      const path: PathSeg[] = [...def.path, 'layers', j];
      if (isUse(layer)) {
        this.expandUse({ name: locals[j], ...layer }, path, inner);
      } else if (!isPlainObject(layer)) {
        this.emit(layer, { def: path, use: scope.top, block: def.name, values: {} });
      } else {
        this.emitBlockLayer(
          layer,
          path,
          inner,
          def.name,
          `${instance}_${locals[j]}`,
          j === 0 ? inputsFrom : undefined,
          prev,
        );
      }
      if (j === last && this.out.length) (this.out[this.out.length - 1] as Record<string, unknown>).name = instance;
      prev = this.lastName();
    });
  }

  private emitBlockLayer(
    layer: Record<string, unknown>,
    path: PathSeg[],
    scope: Scope,
    block: string,
    name: string,
    inputsFrom: PathSeg[] | undefined,
    prev: string,
  ): void {
    const values: Record<string, PathSeg[]> = {};
    const { name: _written, inputs, ...rest } = layer;
    const copy = this.substitute(rest, path, scope, values) as Record<string, unknown>;
    copy.name = name;
    if (inputs !== undefined) {
      const list = typeof inputs === 'string' ? [inputs] : Array.isArray(inputs) ? inputs : [];
      const resolved = list.map(
        (n, k) =>
          this.resolveName(
            String(n),
            typeof inputs === 'string' ? [...path, 'inputs'] : [...path, 'inputs', k],
            scope,
          ) ?? String(n),
      );
      copy.inputs = typeof inputs === 'string' ? resolved[0] : resolved;
      if (list.includes(MODEL_INPUT) && inputsFrom) values.inputs = inputsFrom;
    } else if (prev !== this.lastName()) {
      copy.inputs = prev;
      if (inputsFrom) values.inputs = inputsFrom;
    }
    this.emit(copy, { def: path, use: scope.top, block, values });
  }

  /** Each layer's local name (its `name`, else type and a count within the block, `conv2d_2`). */
  private localNames(def: BlockDef): string[] {
    const counts = new Map<string, number>();
    return def.layers.map((l) => {
      const rec: Record<string, unknown> = isPlainObject(l) ? l : {};
      const base = 'block' in rec ? String(rec.block) : snakeCase(String(rec.type));
      const n = (counts.get(base) ?? 0) + 1;
      counts.set(base, n);
      return typeof rec.name === 'string' ? rec.name : `${base}_${n}`;
    });
  }
}

/**
 * Moves a problem found in the expanded experiment to where the user wrote
 * it: model.layers indices back to the file's, a block's layer to its line in
 * the block (naming the use), a value that came from a use's parameter to
 * that parameter.
 */
export function relocate(d: Diagnostic, origins: readonly LayerOrigin[], map: SourceMap): Diagnostic {
  const segs = parsePath(d.path);
  if (!segs || segs[0] !== 'model' || segs[1] !== 'layers' || typeof segs[2] !== 'number' || d.line === 0) return d;
  const o = origins[segs[2]];
  if (!o) return d;
  const rest = segs.slice(3);
  if (!o.use) return diagnosticAt(map, [...o.def, ...rest], d.message);
  const useLine = map.locate(o.use).line;
  const from = rest.length ? o.values[String(rest[0])] : undefined;
  if (from)
    return diagnosticAt(
      map,
      [...from, ...rest.slice(1)],
      `${d.message} (block "${o.block}", line ${map.locate(o.def).line})`,
    );
  const suffix = d.message.includes(`in block "${o.block}" used at line ${useLine}`)
    ? ''
    : ` (in block "${o.block}" used at line ${useLine})`;
  return diagnosticAt(map, [...o.def, ...rest], d.message + suffix);
}

/** How messages name an expanded layer's place: `line 12`, or `line 12 in block "residual" used at line 30`. */
export function describeOrigin(o: LayerOrigin | undefined, map: SourceMap, fallback: PathSeg[]): string {
  if (!o) return `line ${map.locate(fallback).line}`;
  const line = map.locate(o.def).line;
  return o.use ? `line ${line} in block "${o.block}" used at line ${map.locate(o.use).line}` : `line ${line}`;
}
