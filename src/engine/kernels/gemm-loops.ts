/**
 * Register-tiled float32 matrix products in wasm SIMD, reading operands where they lie on the
 * tfjs heap: no packing. (XNNPACK, behind the stock BatchMatMul, re-packs its "weights"
 * operand whenever that tensor is new, i.e. on every training step, at ~6 ns per element:
 * more than the product itself for the shapes of small conv nets.)
 *
 * Tile: RK rows x RN 4-lane column vectors of C held in registers; for each step t of the
 * reduction, RN vectors of B's row t are loaded and each of the RK values A(row, t) is
 * broadcast and multiply-added. Edges reuse the last full tile shifted back (overlapping the
 * previous one): overlapping cells are recomputed in the same order, so they get the same
 * bits, and no partial-tile code is needed. Needs rows >= RK and cols >= 4*RN.
 * "Full width" variants (…W{RN}) cover all N columns, 4 < N <= 4*RN, in one tile: vector v
 * sits at column min(4v, N-4), the last one overlapping its neighbour (e.g. N = 6: columns
 * 0-3 and 2-5), so each broadcast A value is used for every column.
 *
 * Summation is sequential over the reduction in float32, like XNNPACK's.
 */
import { Code, Fn, i32, v128, ValType } from './wasm-asm';

export const TILE_ROWS = 4;

/** How row i's A element at reduction step t is addressed (pointer arithmetic in wasm). */
interface AOperand {
  /** Params of the function. */
  params: string[];
  /** Extra locals. */
  locals: Record<string, ValType>;
  /** Code run once per tile, before the reduction loop: set per-row pointers for rows ii..ii+RK-1. */
  initRows(fn: Fn, rk: number): Code;
  /** Code at the top of each reduction step (e.g. load a per-step offset). */
  perStep(fn: Fn): Code;
  /** Address of A(row r of the tile, current step). */
  addr(fn: Fn, r: number): Code;
  /** Code at the end of each reduction step (advance pointers). */
  advance(fn: Fn, rk: number): Code;
}

function tiledProduct(name: string, rk: number, rn: number, a: AOperand,
  /** names of: B pointer, B row stride (bytes), C pointer, rows, cols, reduction length */
  p: { b: string; sBt: (fn: Fn) => Code; c: string; rows: string; cols: string; red: string }, fullWidth = false): Fn {
  const locals: Record<string, ValType> = { i0: 'i32', j0: 'i32', ii: 'i32', jj: 'i32', t: 'i32', bp: 'i32', cp: 'i32', av: 'v128', ...a.locals };
  for (let r = 0; r < rk; r++) for (let v = 0; v < rn; v++) locals[`acc${r}_${v}`] = 'v128';
  for (let v = 0; v < rn; v++) locals[`bv${v}`] = 'v128';
  for (let v = 0; v < rn; v++) locals[`vo${v}`] = 'i32';
  const fn = new Fn(name, a.params, locals);
  const g = fn.get;
  const set = fn.set;
  const all = (f: (r: number, v: number) => Code): Code => {
    const out: Code[] = [];
    for (let r = 0; r < rk; r++) for (let v = 0; v < rn; v++) out.push(f(r, v));
    return out;
  };
  const perRow = (f: (r: number) => Code): Code => Array.from({ length: rk }, (_, r) => f(r));
  const perVec = (f: (v: number) => Code): Code => Array.from({ length: rn }, (_, v) => f(v));
  // Byte offset of column vector v inside the tile: 16v, or min(16v, (N-4)*4) at full width.
  const vecAddr = (base: Code, v: number): Code => (fullWidth && v > 0 ? i32.add(base, g(`vo${v}`)) : base);
  const vecImm = (v: number): number => (fullWidth ? 0 : 16 * v);
  return fn.define([
    perVec((v) => set(`vo${v}`, i32.min(i32.const(16 * v), i32.shl(i32.sub(g(p.cols), i32.const(4)), i32.const(2))))),
    fn.forRange('i0', i32.const(0), g(p.rows), [
    set('ii', i32.min(g('i0'), i32.sub(g(p.rows), i32.const(rk)))),
    fn.forRange('j0', i32.const(0), g(p.cols), [
      set('jj', fullWidth ? i32.const(0) : i32.min(g('j0'), i32.sub(g(p.cols), i32.const(4 * rn)))),
      all((r, v) => set(`acc${r}_${v}`, v128.zero())),
      a.initRows(fn, rk),
      set('bp', i32.add(g(p.b), i32.shl(g('jj'), i32.const(2)))),
      fn.forRange('t', i32.const(0), g(p.red), [
        a.perStep(fn),
        perVec((v) => set(`bv${v}`, v128.load(vecAddr(g('bp'), v), vecImm(v)))),
        perRow((r) => [
          set('av', v128.load32Splat(a.addr(fn, r))),
          perVec((v) => set(`acc${r}_${v}`, v128.f32x4Add(g(`acc${r}_${v}`), v128.f32x4Mul(g('av'), g(`bv${v}`))))),
        ]),
        a.advance(fn, rk),
        set('bp', i32.add(g('bp'), p.sBt(fn))),
      ]),
      perRow((r) => [
        set('cp', i32.add(g(p.c), i32.shl(i32.add(i32.mul(i32.add(g('ii'), i32.const(r)), g(p.cols)), g('jj')), i32.const(2)))),
        perVec((v) => v128.store(vecAddr(g('cp'), v), g(`acc${r}_${v}`), vecImm(v))),
      ]),
    ], fullWidth ? g(p.cols) : i32.const(4 * rn)),
  ], i32.const(rk)),
  ]);
}

/**
 * gemm{RK}x{RN}(a, sAi, sAt, b, sBt, c, M, N, K):
 *   C[i, j] = sum_t A(i, t) * B[t, j],  A(i, t) at a + i*sAi + t*sAt (bytes; so A or Aᵀ),
 *   B[t, j] at b + t*sBt + 4j, C row-major [M, N].
 */
export function gemmFn(rn: number, fullWidth = false): Fn {
  const rowPtr = (r: number) => `ap${r}`;
  const locals: Record<string, ValType> = {};
  for (let r = 0; r < TILE_ROWS; r++) locals[rowPtr(r)] = 'i32';
  const a: AOperand = {
    params: ['a', 'sAi', 'sAt', 'b', 'sBt', 'c', 'M', 'N', 'K'],
    locals,
    initRows: (fn, rk) => Array.from({ length: rk }, (_, r) =>
      fn.set(rowPtr(r), i32.add(fn.get('a'), i32.mul(i32.add(fn.get('ii'), i32.const(r)), fn.get('sAi'))))),
    perStep: () => [],
    addr: (fn, r) => fn.get(rowPtr(r)),
    advance: (fn, rk) => Array.from({ length: rk }, (_, r) => fn.set(rowPtr(r), i32.add(fn.get(rowPtr(r)), fn.get('sAt')))),
  };
  return tiledProduct(fullWidth ? `gemmW${rn}` : `gemm${TILE_ROWS}x${rn}`, TILE_ROWS, rn, a,
    { b: 'b', sBt: (fn) => fn.get('sBt'), c: 'c', rows: 'M', cols: 'N', red: 'K' }, fullWidth);
}

/**
 * convFilterGrad{RK}x{RN}(x, dy, dw, base, kOff, M, Cout, K):
 *   dw[k, co] = sum_m x[base[m] + kOff[k]] * dy[m, co]
 * with base[m] (bytes, from x) the top-left of output pixel m's window in the (pre-padded)
 * input and kOff[k] (bytes) the offset of filter tap k = (kh, kw, ci) inside a window.
 * This is the conv filter gradient as an implicit GEMM: no im2col buffer.
 */
export function convFilterGradFn(rn: number, fullWidth = false): Fn {
  const rowPtr = (r: number) => `xo${r}`;
  const locals: Record<string, ValType> = { bs: 'i32', tp: 'i32' };
  for (let r = 0; r < TILE_ROWS; r++) locals[rowPtr(r)] = 'i32';
  const a: AOperand = {
    params: ['x', 'dy', 'dw', 'base', 'kOff', 'M', 'Cout', 'K'],
    locals,
    initRows: (fn, rk) => [
      Array.from({ length: rk }, (_, r) =>
        fn.set(rowPtr(r), i32.add(fn.get('x'), i32.load(i32.add(fn.get('kOff'), i32.shl(i32.add(fn.get('ii'), i32.const(r)), i32.const(2))))))),
      fn.set('tp', fn.get('base')),
    ],
    perStep: (fn) => [fn.set('bs', i32.load(fn.get('tp'))), fn.set('tp', i32.add(fn.get('tp'), i32.const(4)))],
    addr: (fn, r) => i32.add(fn.get(rowPtr(r)), fn.get('bs')),
    advance: () => [],
  };
  const fnName = fullWidth ? `convFilterGradW${rn}` : `convFilterGrad${TILE_ROWS}x${rn}`;
  // B (dy) row stride: Cout * 4 bytes.
  const sBt = (fn: Fn): Code => i32.shl(fn.get('Cout'), i32.const(2));
  return tiledProduct(fnName, TILE_ROWS, rn, a, { b: 'dy', sBt, c: 'dw', rows: 'K', cols: 'Cout', red: 'M' }, fullWidth);
}

/** convBaseTable(table, N, OH, OW, Hp, Wp, C, sh, sw): table[m] = ((n*Hp + oh*sh)*Wp + ow*sw)*C*4. */
export function convBaseTableFn(): Fn {
  const fn = new Fn('convBaseTable', ['table', 'N', 'OH', 'OW', 'Hp', 'Wp', 'C', 'sh', 'sw'],
    { n: 'i32', oh: 'i32', ow: 'i32', p: 'i32', v: 'i32', step: 'i32' });
  const g = fn.get;
  const set = fn.set;
  return fn.define([
    set('p', g('table')),
    set('step', i32.shl(i32.mul(g('sw'), g('C')), i32.const(2))),
    fn.forRange('n', i32.const(0), g('N'), fn.forRange('oh', i32.const(0), g('OH'), [
      set('v', i32.shl(i32.mul(i32.mul(i32.add(i32.mul(g('n'), g('Hp')), i32.mul(g('oh'), g('sh'))), g('Wp')), g('C')), i32.const(2))),
      fn.forRange('ow', i32.const(0), g('OW'), [
        i32.store(g('p'), g('v')),
        set('p', i32.add(g('p'), i32.const(4))),
        set('v', i32.add(g('v'), g('step'))),
      ]),
    ])),
  ]);
}
