/**
 * A minimal WebAssembly binary writer, so that a few memory-bound loops (im2col, max-pool
 * gradient routing, bias sums) run as wasm (with SIMD where it pays) directly on the tfjs wasm
 * backend's heap, instead of as JS loops (~2 ns per element on this class of machine, where
 * wasm is several times faster), and without a C toolchain or a committed binary.
 *
 * Scope: one imported memory ("env"."memory"), functions with i32/f32 params and no results,
 * structured control flow. Code is written as nested arrays of bytes (`Code`), built with the
 * helpers below, and flattened once. Every opcode used is from the WebAssembly 2.0 core spec
 * (including fixed-width SIMD and bulk memory), which Node >= 16 supports.
 */

export type Code = number | Code[];
export type ValType = 'i32' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function flatten(code: Code, out: number[] = []): number[] {
  if (typeof code === 'number') out.push(code);
  else for (const c of code) flatten(c, out);
  return out;
}

function bytes(s: string): number[] {
  return [...uleb(s.length), ...Buffer.from(s, 'utf8')];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

// ---- instructions -------------------------------------------------------------------------

const EMPTY_BLOCK = 0x40;
const memarg = (alignLog2: number, offset = 0): number[] => [...uleb(alignLog2), ...uleb(offset)];

/** select(a, b, cond): a if cond != 0 else b. */
export const select = (a: Code, b: Code, cond: Code): Code => [a, b, cond, 0x1b];

export const i32 = {
  const: (v: number): Code => [0x41, ...sleb(v)],
  add: (a: Code, b: Code): Code => [a, b, 0x6a],
  sub: (a: Code, b: Code): Code => [a, b, 0x6b],
  mul: (a: Code, b: Code): Code => [a, b, 0x6c],
  divS: (a: Code, b: Code): Code => [a, b, 0x6d],
  shl: (a: Code, b: Code): Code => [a, b, 0x74],
  and: (a: Code, b: Code): Code => [a, b, 0x71],
  eq: (a: Code, b: Code): Code => [a, b, 0x46],
  ne: (a: Code, b: Code): Code => [a, b, 0x47],
  ltS: (a: Code, b: Code): Code => [a, b, 0x48],
  gtS: (a: Code, b: Code): Code => [a, b, 0x4a],
  leS: (a: Code, b: Code): Code => [a, b, 0x4c],
  geS: (a: Code, b: Code): Code => [a, b, 0x4e],
  load: (addr: Code, offset = 0): Code => [addr, 0x28, ...memarg(2, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0x36, ...memarg(2, offset)],
  /** Signed min/max via select (wasm has no i32.min/max); a and b are evaluated twice. */
  min: (a: Code, b: Code): Code => select(a, b, i32.ltS(a, b)),
  max: (a: Code, b: Code): Code => select(a, b, i32.gtS(a, b)),
};

export const f32 = {
  const: (v: number): Code => {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v, 0);
    return [0x43, ...b];
  },
  load: (addr: Code, offset = 0): Code => [addr, 0x2a, ...memarg(2, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0x38, ...memarg(2, offset)],
  add: (a: Code, b: Code): Code => [a, b, 0x92],
  mul: (a: Code, b: Code): Code => [a, b, 0x94],
  div: (a: Code, b: Code): Code => [a, b, 0x95],
  sqrt: (a: Code): Code => [a, 0x91],
  gt: (a: Code, b: Code): Code => [a, b, 0x5e],
};

export const v128 = {
  load: (addr: Code, offset = 0): Code => [addr, 0xfd, ...uleb(0x00), ...memarg(0, offset)],
  store: (addr: Code, value: Code, offset = 0): Code => [addr, value, 0xfd, ...uleb(0x0b), ...memarg(0, offset)],
  f32x4Splat: (a: Code): Code => [a, 0xfd, ...uleb(0x13)],
  /** Load one 32-bit value and splat it to the 4 lanes (one instruction). */
  load32Splat: (addr: Code, offset = 0): Code => [addr, 0xfd, ...uleb(0x09), ...memarg(2, offset)],
  f32x4Add: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0xe4)],
  f32x4Mul: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0xe6)],
  f32x4Div: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0xe7)],
  f32x4Sqrt: (a: Code): Code => [a, 0xfd, ...uleb(0xe3)],
  f32x4Eq: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0x41)],
  f32x4Gt: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0x44)],
  and: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0x4e)],
  /** a & ~b */
  andnot: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0x4f)],
  zero: (): Code => [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  allOnes: (): Code => [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0xff)],
  f32x4ExtractLane: (a: Code, lane: number): Code => [a, 0xfd, ...uleb(0x1f), lane],
  /** Two float32 from memory into the low lanes (high lanes zero). */
  load64Zero: (addr: Code, offset = 0): Code => [addr, 0xfd, ...uleb(0x5d), ...memarg(3, offset)],
  /** Store lane `lane` (0 or 1) of a value seen as two 64-bit lanes. */
  store64Lane: (addr: Code, value: Code, lane: number, offset = 0): Code => [addr, value, 0xfd, ...uleb(0x5b), ...memarg(3, offset), lane],
  f64x2Splat: (a: Code): Code => [a, 0xfd, ...uleb(0x14)],
  /** The two low float32 lanes, widened to float64 (exact). */
  f64x2PromoteLowF32x4: (a: Code): Code => [a, 0xfd, ...uleb(0x5f)],
  /** Two float64 lanes rounded to float32 into the low lanes (high lanes zero). */
  f32x4DemoteF64x2Zero: (a: Code): Code => [a, 0xfd, ...uleb(0x5e)],
  f64x2Add: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0xf0)],
  f64x2Mul: (a: Code, b: Code): Code => [a, b, 0xfd, ...uleb(0xf2)],
};


export const memory = {
  /** memory.fill(dest, byteValue, length): bulk-memory. */
  fill: (dest: Code, value: Code, length: Code): Code => [dest, value, length, 0xfc, ...uleb(0x0b), 0x00],
  /** memory.copy(dest, src, length). */
  copy: (dest: Code, src: Code, length: Code): Code => [dest, src, length, 0xfc, ...uleb(0x0a), 0x00, 0x00],
};

export const ifThen = (cond: Code, then: Code, otherwise?: Code): Code =>
  otherwise === undefined
    ? [cond, 0x04, EMPTY_BLOCK, then, 0x0b]
    : [cond, 0x04, EMPTY_BLOCK, then, 0x05, otherwise, 0x0b];

// ---- functions ----------------------------------------------------------------------------

/** A function under construction: named i32 params and typed locals. */
export class Fn {
  private readonly index = new Map<string, number>();
  private readonly localTypes: ValType[] = [];
  private body: Code = [];

  /** Param types, in order (default i32; name a param 'name:f32' or 'name:f64' for a float param). */
  readonly paramTypes: ValType[];
  readonly params: string[];

  constructor(readonly name: string, params: string[], locals: Record<string, ValType>) {
    this.params = params.map((p) => p.split(':')[0]);
    this.paramTypes = params.map((p) => (p.split(':')[1] as ValType | undefined) ?? 'i32');
    this.params.forEach((p, i) => this.index.set(p, i));
    for (const [name, type] of Object.entries(locals)) {
      if (this.index.has(name)) throw new Error(`wasm-asm: duplicate local ${name}`);
      this.index.set(name, params.length + this.localTypes.length);
      this.localTypes.push(type);
    }
  }

  private idx(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`wasm-asm: ${this.name}: unknown local ${name}`);
    return i;
  }

  get = (name: string): Code => [0x20, ...uleb(this.idx(name))];
  set = (name: string, value: Code): Code => [value, 0x21, ...uleb(this.idx(name))];

  /** for (name = from; name < to; name += step) body   (`to` is re-evaluated each turn). */
  forRange = (name: string, from: Code, to: Code, body: Code, step: Code = i32.const(1)): Code => [
    this.set(name, from),
    0x02, EMPTY_BLOCK,
    0x03, EMPTY_BLOCK,
    i32.geS(this.get(name), to), 0x0d, 0x01, // br_if to the block's end
    body,
    this.set(name, i32.add(this.get(name), step)),
    0x0c, 0x00, // br to the loop's start
    0x0b,
    0x0b,
  ];

  define(body: Code): this {
    this.body = body;
    return this;
  }

  /** Code-section entry: locals, body, end. */
  encode(): number[] {
    const groups: number[][] = this.localTypes.map((t) => [1, VALTYPE[t]]);
    const fn = [...vec(groups), ...flatten(this.body), 0x0b];
    return [...uleb(fn.length), ...fn];
  }
}

/**
 * A module importing "env"."memory" and exporting each function under its name. With
 * `sharedMemory`, the import is a shared memory of at most that many 64 KiB pages (one
 * whose buffer is a SharedArrayBuffer other threads see).
 */
export function assembleModule(fns: Fn[], opts: { sharedMemory?: { maxPages: number } } = {}): Uint8Array {
  // One function type per distinct signature: (params) -> ().
  const sig = (f: Fn) => f.paramTypes.join(',');
  const signatures = [...new Set(fns.map(sig))];
  const types = signatures.map((s) => [0x60, ...vec(s.split(',').filter(Boolean).map((t) => [VALTYPE[t as ValType]])), 0x00]);
  const limits = opts.sharedMemory ? [0x03, 0x00, ...uleb(opts.sharedMemory.maxPages)] : [0x00, 0x00]; // min 0 pages; shared needs a max
  const imports = vec([[...bytes('env'), ...bytes('memory'), 0x02, ...limits]]);
  const funcs = vec(fns.map((f) => uleb(signatures.indexOf(sig(f)))));
  const exports = vec(fns.map((f, i) => [...bytes(f.name), 0x00, ...uleb(i)]));
  const code = vec(fns.map((f) => f.encode()));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
