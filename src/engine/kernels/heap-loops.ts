/**
 * Memory-bound inner loops of our wasm kernels, as a small WebAssembly module (written with
 * wasm-asm.ts) that imports the tfjs wasm backend's own memory: it reads and writes tensors in
 * place at their heap offsets, no copies in or out. Instantiated once per backend instance.
 *
 * All pointers are BYTE offsets into the tfjs heap (TensorData.memoryOffset); all tensors
 * float32, NHWC.
 */
import { averageTwoFn } from './average-loops';
import { convBaseTableFn, convFilterGradFn, gemmFn } from './gemm-loops';
import { adamUpdateFn } from './optimizer-loops';
import { assembleModule, Code, f32, Fn, i32, ifThen, memory, select, v128 } from './wasm-asm';

export interface HeapLoops {
  /**
   * dx = 0; for every output cell (n,oh,ow,ch): dx[first max of its window] += dy[cell].
   * "First" = row-major, strictly greater, starting from -Infinity (cpu backend's rule).
   */
  maxPoolGrad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    strideH: number, strideW: number, filterH: number, filterW: number, padTop: number, padLeft: number): void;
  /**
   * Transposed patches for a conv filter gradient:
   * pt[((kh*fw + kw)*C + ci) * M + (n*OH + oh)*OW + ow] = x[n, oh*sh+kh-pt, ow*sw+kw-pl, ci] or 0,
   * with M = N*OH*OW.
   */
  im2colT(x: number, pt: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    strideH: number, strideW: number, filterH: number, filterW: number, padTop: number, padLeft: number): void;
  /**
   * Same result as maxPoolGrad given y = the forward max-pool output, for C >= 4: per output
   * cell, 4 channels at a time (SIMD), the gradient goes to the first window element equal
   * to y (which is the first maximum, ties and signed zeros included).
   */
  maxPoolGradSimd(x: number, y: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number,
    ow: number, strideH: number, strideW: number, filterH: number, filterW: number, padTop: number, padLeft: number): void;
  /** See gemm-loops.ts. */
  gemm4x1(a: number, sAi: number, sAt: number, b: number, sBt: number, c: number, m: number, n: number, k: number): void;
  gemm4x2(a: number, sAi: number, sAt: number, b: number, sBt: number, c: number, m: number, n: number, k: number): void;
  gemm4x4(a: number, sAi: number, sAt: number, b: number, sBt: number, c: number, m: number, n: number, k: number): void;
  convFilterGrad4x1(x: number, dy: number, dw: number, base: number, kOff: number, m: number, cout: number, k: number): void;
  convFilterGrad4x2(x: number, dy: number, dw: number, base: number, kOff: number, m: number, cout: number, k: number): void;
  convFilterGrad4x4(x: number, dy: number, dw: number, base: number, kOff: number, m: number, cout: number, k: number): void;
  /** Full-width tiles for 4 < N <= 4*RN columns (gemm-loops.ts). */
  gemmW2: HeapLoops['gemm4x1'];
  gemmW3: HeapLoops['gemm4x1'];
  gemmW4: HeapLoops['gemm4x1'];
  convFilterGradW2: HeapLoops['convFilterGrad4x1'];
  convFilterGradW3: HeapLoops['convFilterGrad4x1'];
  convFilterGradW4: HeapLoops['convFilterGrad4x1'];
  convBaseTable(table: number, n: number, oh: number, ow: number, hp: number, wp: number, c: number, sh: number, sw: number): void;
  /** See optimizer-loops.ts. */
  adamUpdate(x: number, m: number, v: number, g: number, xOut: number, mOut: number, vOut: number, n: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, c1: number, c2: number, epsilon: number,
    negLearningRate: number): void;
  /**
   * dx = 0; for each output pixel m = (n,oh,ow) and tap (kh,kw) inside the input:
   * dx[n, oh*sh+kh-pt, ow*sw+kw-pl, :] += dp[m, (kh*fw + kw)*C : ... + C]   (col2im)
   */
  col2im(dp: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number,
    strideH: number, strideW: number, filterH: number, filterW: number, padTop: number, padLeft: number): void;
  /** out[i] = float32(wa * a[i] + wb * b[i]) in float64, n even (average-loops.ts). */
  averageTwo(out: number, a: number, b: number, n: number, wa: number, wb: number): void;
  /** out[c] = sum over r of x[r*cols + c]  (reduce all leading axes of a [rows, cols] tensor). */
  columnSum(x: number, out: number, rows: number, cols: number): void;
  /** out[r*cols + c] = x[r*cols + c] + b[c]  (bias add broadcast over the last axis). */
  addRowVector(x: number, b: number, out: number, rows: number, cols: number): void;
  /** dx[i] = y[i] > 0 ? dy[i] : 0 for i < n: the ReLU gradient from its output y (dx may be dy: in place). */
  reluBackward(dy: number, y: number, dx: number, n: number): void;
}

const get = (fn: Fn) => fn.get;

function maxPoolGradFn(): Fn {
  const fn = new Fn('maxPoolGrad',
    ['x', 'dy', 'dx', 'N', 'H', 'W', 'C', 'OH', 'OW', 'sh', 'sw', 'fh', 'fw', 'pt', 'pl'],
    { n: 'i32', oh: 'i32', ow: 'i32', ch: 'i32', r: 'i32', c: 'i32', r0: 'i32', rmin: 'i32', rmax: 'i32', c0: 'i32',
      cmin: 'i32', cmax: 'i32', xb: 'i32', p: 'i32', at: 'i32', dyp: 'i32', cstride: 'i32', best: 'f32', v: 'f32', t: 'i32' });
  const g = get(fn);
  const set = fn.set;
  // clamp helpers via select: max(a, 0), min(a, b)
  const max0 = (a: string): Code => set(a, select(g(a), i32.const(0), i32.gtS(g(a), i32.const(0))));
  const minTo = (a: string, b: Code): Code => set(a, select(g(a), b, i32.ltS(g(a), b)));
  return fn.define([
    memory.fill(g('dx'), i32.const(0), i32.shl(i32.mul(i32.mul(g('N'), g('H')), i32.mul(g('W'), g('C'))), i32.const(2))),
    set('cstride', i32.shl(g('C'), i32.const(2))),
    set('dyp', g('dy')),
    fn.forRange('n', i32.const(0), g('N'), [
      set('xb', i32.add(g('x'), i32.shl(i32.mul(i32.mul(g('n'), g('H')), i32.mul(g('W'), g('C'))), i32.const(2)))),
      fn.forRange('oh', i32.const(0), g('OH'), [
        set('r0', i32.sub(i32.mul(g('oh'), g('sh')), g('pt'))),
        set('rmin', g('r0')), max0('rmin'),
        set('rmax', i32.add(g('r0'), g('fh'))), minTo('rmax', g('H')),
        fn.forRange('ow', i32.const(0), g('OW'), [
          set('c0', i32.sub(i32.mul(g('ow'), g('sw')), g('pl'))),
          set('cmin', g('c0')), max0('cmin'),
          set('cmax', i32.add(g('c0'), g('fw'))), minTo('cmax', g('W')),
          fn.forRange('ch', i32.const(0), g('C'), [
            set('best', f32.const(-Infinity)),
            set('at', i32.const(0)),
            fn.forRange('r', g('rmin'), g('rmax'), [
              // p = xb + ((r*W + cmin)*C + ch)*4
              set('p', i32.add(g('xb'), i32.shl(i32.add(i32.mul(i32.add(i32.mul(g('r'), g('W')), g('cmin')), g('C')), g('ch')), i32.const(2)))),
              fn.forRange('c', g('cmin'), g('cmax'), [
                set('v', f32.load(g('p'))),
                set('t', f32.gt(g('v'), g('best'))),
                set('best', select(g('v'), g('best'), g('t'))),
                set('at', select(g('p'), g('at'), g('t'))),
                set('p', i32.add(g('p'), g('cstride'))),
              ]),
            ]),
            ifThen(g('at'), [
              // dx[at - x] += dy[dyp]
              set('p', i32.add(g('dx'), i32.sub(g('at'), g('x')))),
              f32.store(g('p'), f32.add(f32.load(g('p')), f32.load(g('dyp')))),
            ]),
            set('dyp', i32.add(g('dyp'), i32.const(4))),
          ]),
        ]),
      ]),
    ]),
  ]);
}

function im2colTFn(): Fn {
  const fn = new Fn('im2colT',
    ['x', 'pt', 'N', 'H', 'W', 'C', 'OH', 'OW', 'sh', 'sw', 'fh', 'fw', 'padT', 'padL'],
    { M: 'i32', n: 'i32', oh: 'i32', kh: 'i32', kw: 'i32', ci: 'i32', ow: 'i32', ih: 'i32', col: 'i32', dst: 'i32',
      src: 'i32', srcStep: 'i32', owMin: 'i32', owMax: 'i32', t: 'i32', rowBytes: 'i32' });
  const g = get(fn);
  const set = fn.set;
  return fn.define([
    set('M', i32.mul(i32.mul(g('N'), g('OH')), g('OW'))),
    set('rowBytes', i32.shl(g('M'), i32.const(2))),
    set('srcStep', i32.shl(i32.mul(g('sw'), g('C')), i32.const(2))),
    fn.forRange('n', i32.const(0), g('N'), [
      fn.forRange('oh', i32.const(0), g('OH'), [
        set('col', i32.mul(i32.add(i32.mul(g('n'), g('OH')), g('oh')), g('OW'))),
        fn.forRange('kh', i32.const(0), g('fh'), [
          set('ih', i32.sub(i32.add(i32.mul(g('oh'), g('sh')), g('kh')), g('padT'))),
          fn.forRange('kw', i32.const(0), g('fw'), [
            // owMin = clamp(ceil((padL - kw) / sw), 0, OW); owMax = clamp(floor((W-1+padL-kw)/sw)+1, owMin, OW)
            set('t', i32.sub(g('padL'), g('kw'))),
            set('owMin', select(i32.divS(i32.sub(i32.add(g('t'), g('sw')), i32.const(1)), g('sw')), i32.const(0), i32.gtS(g('t'), i32.const(0)))),
            set('owMin', select(g('owMin'), g('OW'), i32.ltS(g('owMin'), g('OW')))),
            set('t', i32.sub(i32.add(i32.sub(g('W'), i32.const(1)), g('padL')), g('kw'))),
            set('owMax', select(i32.add(i32.divS(g('t'), g('sw')), i32.const(1)), i32.const(0), i32.geS(g('t'), i32.const(0)))),
            set('owMax', select(g('owMax'), g('OW'), i32.ltS(g('owMax'), g('OW')))),
            set('owMax', select(g('owMax'), g('owMin'), i32.gtS(g('owMax'), g('owMin')))),
            fn.forRange('ci', i32.const(0), g('C'), [
              // dst = pt + (((kh*fw + kw)*C + ci) * M + col) * 4
              set('dst', i32.add(g('pt'), i32.shl(i32.add(i32.mul(i32.add(i32.mul(i32.add(i32.mul(g('kh'), g('fw')), g('kw')), g('C')), g('ci')), g('M')), g('col')), i32.const(2)))),
              ifThen(i32.and(i32.geS(g('ih'), i32.const(0)), i32.ltS(g('ih'), g('H'))), [
                memory.fill(g('dst'), i32.const(0), i32.shl(g('owMin'), i32.const(2))),
                // src = x + (((n*H + ih)*W + owMin*sw + kw - padL)*C + ci)*4
                set('src', i32.add(g('x'), i32.shl(i32.add(i32.mul(i32.add(i32.mul(i32.add(i32.mul(g('n'), g('H')), g('ih')), g('W')),
                  i32.sub(i32.add(i32.mul(g('owMin'), g('sw')), g('kw')), g('padL'))), g('C')), g('ci')), i32.const(2)))),
                set('dst', i32.add(g('dst'), i32.shl(g('owMin'), i32.const(2)))),
                fn.forRange('ow', g('owMin'), g('owMax'), [
                  f32.store(g('dst'), f32.load(g('src'))),
                  set('dst', i32.add(g('dst'), i32.const(4))),
                  set('src', i32.add(g('src'), g('srcStep'))),
                ]),
                memory.fill(g('dst'), i32.const(0), i32.shl(i32.sub(g('OW'), g('owMax')), i32.const(2))),
              ], [
                memory.fill(g('dst'), i32.const(0), i32.shl(g('OW'), i32.const(2))),
              ]),
            ]),
          ]),
        ]),
      ]),
    ]),
  ]);
}

function maxPoolGradSimdFn(): Fn {
  const fn = new Fn('maxPoolGradSimd',
    ['x', 'y', 'dy', 'dx', 'N', 'H', 'W', 'C', 'OH', 'OW', 'sh', 'sw', 'fh', 'fw', 'pt', 'pl'],
    { n: 'i32', oh: 'i32', ow: 'i32', g: 'i32', ch0: 'i32', r: 'i32', c: 'i32', r0: 'i32', rmin: 'i32', rmax: 'i32',
      c0: 'i32', cmin: 'i32', cmax: 'i32', cell: 'i32', p: 'i32', cstride: 'i32', lastMask: 'v128', pending: 'v128',
      hit: 'v128', yv: 'v128', dyv: 'v128' });
  const g = fn.get;
  const set = fn.set;
  const addr = (base: string, off: string): Code => i32.add(g(base), g(off));
  return fn.define([
    memory.fill(g('dx'), i32.const(0), i32.shl(i32.mul(i32.mul(g('N'), g('H')), i32.mul(g('W'), g('C'))), i32.const(2))),
    set('cstride', i32.shl(g('C'), i32.const(2))),
    // The last 4-channel group starts at C-4 and may overlap the previous one: only its lanes
    // >= 4 - (C % 4) are new. lastMask = lanes [0,1,2,3] >= (4 - C%4) % 4.
    set('lastMask', [0xfd, 0x0c, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,
      i32.and(i32.sub(i32.const(4), i32.and(g('C'), i32.const(3))), i32.const(3)), 0xfd, 0x11, 0xfd, 0x3f]),
    fn.forRange('n', i32.const(0), g('N'), fn.forRange('oh', i32.const(0), g('OH'), [
      set('r0', i32.sub(i32.mul(g('oh'), g('sh')), g('pt'))),
      set('rmin', i32.max(g('r0'), i32.const(0))),
      set('rmax', i32.min(i32.add(g('r0'), g('fh')), g('H'))),
      fn.forRange('ow', i32.const(0), g('OW'), [
        set('c0', i32.sub(i32.mul(g('ow'), g('sw')), g('pl'))),
        set('cmin', i32.max(g('c0'), i32.const(0))),
        set('cmax', i32.min(i32.add(g('c0'), g('fw')), g('W'))),
        set('cell', i32.mul(i32.add(i32.mul(i32.add(i32.mul(g('n'), g('OH')), g('oh')), g('OW')), g('ow')), g('cstride'))),
        fn.forRange('g', i32.const(0), g('C'), [
          set('ch0', i32.shl(i32.min(g('g'), i32.sub(g('C'), i32.const(4))), i32.const(2))),
          set('pending', select(v128.allOnes(), g('lastMask'), i32.eq(g('g'), i32.min(g('g'), i32.sub(g('C'), i32.const(4)))))),
          set('yv', v128.load(i32.add(addr('y', 'cell'), g('ch0')))),
          set('dyv', v128.load(i32.add(addr('dy', 'cell'), g('ch0')))),
          fn.forRange('r', g('rmin'), g('rmax'), [
            // p = ((n*H + r)*W + cmin)*C*4 + ch0   (byte offset shared by x and dx)
            set('p', i32.add(i32.mul(i32.add(i32.mul(i32.add(i32.mul(g('n'), g('H')), g('r')), g('W')), g('cmin')), g('cstride')), g('ch0'))),
            fn.forRange('c', g('cmin'), g('cmax'), [
              set('hit', v128.and(v128.f32x4Eq(v128.load(addr('x', 'p')), g('yv')), g('pending'))),
              set('pending', v128.andnot(g('pending'), g('hit'))),
              v128.store(addr('dx', 'p'), v128.f32x4Add(v128.load(addr('dx', 'p')), v128.and(g('hit'), g('dyv')))),
              set('p', i32.add(g('p'), g('cstride'))),
            ]),
          ]),
        ], i32.const(4)),
      ]),
    ])),
  ]);
}

function col2imFn(): Fn {
  const fn = new Fn('col2im', ['dp', 'dx', 'N', 'H', 'W', 'C', 'OH', 'OW', 'sh', 'sw', 'fh', 'fw', 'padT', 'padL'],
    { n: 'i32', oh: 'i32', ow: 'i32', kh: 'i32', kw: 'i32', ih: 'i32', iw: 'i32', c: 'i32', src: 'i32', dst: 'i32', c4: 'i32' });
  const g = fn.get;
  const set = fn.set;
  const inRange = (v: string, hi: string): Code => i32.and(i32.geS(g(v), i32.const(0)), i32.ltS(g(v), g(hi)));
  return fn.define([
    memory.fill(g('dx'), i32.const(0), i32.shl(i32.mul(i32.mul(g('N'), g('H')), i32.mul(g('W'), g('C'))), i32.const(2))),
    set('c4', i32.and(g('C'), i32.const(-4))),
    set('src', g('dp')),
    fn.forRange('n', i32.const(0), g('N'), fn.forRange('oh', i32.const(0), g('OH'), fn.forRange('ow', i32.const(0), g('OW'),
      fn.forRange('kh', i32.const(0), g('fh'), [
        set('ih', i32.sub(i32.add(i32.mul(g('oh'), g('sh')), g('kh')), g('padT'))),
        fn.forRange('kw', i32.const(0), g('fw'), [
          set('iw', i32.sub(i32.add(i32.mul(g('ow'), g('sw')), g('kw')), g('padL'))),
          ifThen(i32.and(inRange('ih', 'H'), inRange('iw', 'W')), [
            set('dst', i32.add(g('dx'), i32.shl(i32.mul(i32.add(i32.mul(i32.add(i32.mul(g('n'), g('H')), g('ih')), g('W')), g('iw')), g('C')), i32.const(2)))),
            fn.forRange('c', i32.const(0), g('c4'), [
              v128.store(g('dst'), v128.f32x4Add(v128.load(g('dst')), v128.load(g('src')))),
              set('dst', i32.add(g('dst'), i32.const(16))),
              set('src', i32.add(g('src'), i32.const(16))),
            ], i32.const(4)),
            fn.forRange('c', g('c4'), g('C'), [
              f32.store(g('dst'), f32.add(f32.load(g('dst')), f32.load(g('src')))),
              set('dst', i32.add(g('dst'), i32.const(4))),
              set('src', i32.add(g('src'), i32.const(4))),
            ]),
          ], [
            set('src', i32.add(g('src'), i32.shl(g('C'), i32.const(2)))),
          ]),
        ]),
      ])))),
  ]);
}

function columnSumFn(): Fn {
  const fn = new Fn('columnSum', ['x', 'out', 'rows', 'cols'],
    { r: 'i32', c: 'i32', p: 'i32', q: 'i32', vecCols: 'i32' });
  const g = get(fn);
  const set = fn.set;
  return fn.define([
    memory.fill(g('out'), i32.const(0), i32.shl(g('cols'), i32.const(2))),
    set('vecCols', i32.and(g('cols'), i32.const(-4))),
    set('p', g('x')),
    fn.forRange('r', i32.const(0), g('rows'), [
      set('q', g('out')),
      fn.forRange('c', i32.const(0), g('vecCols'), [
        v128.store(g('q'), v128.f32x4Add(v128.load(g('q')), v128.load(g('p')))),
        set('p', i32.add(g('p'), i32.const(16))),
        set('q', i32.add(g('q'), i32.const(16))),
      ], i32.const(4)),
      fn.forRange('c', g('vecCols'), g('cols'), [
        f32.store(g('q'), f32.add(f32.load(g('q')), f32.load(g('p')))),
        set('p', i32.add(g('p'), i32.const(4))),
        set('q', i32.add(g('q'), i32.const(4))),
      ]),
    ]),
  ]);
}

function addRowVectorFn(): Fn {
  const fn = new Fn('addRowVector', ['x', 'b', 'out', 'rows', 'cols'],
    { r: 'i32', c: 'i32', p: 'i32', q: 'i32', o: 'i32', vecCols: 'i32' });
  const g = get(fn);
  const set = fn.set;
  return fn.define([
    set('vecCols', i32.and(g('cols'), i32.const(-4))),
    set('p', g('x')),
    set('o', g('out')),
    fn.forRange('r', i32.const(0), g('rows'), [
      set('q', g('b')),
      fn.forRange('c', i32.const(0), g('vecCols'), [
        v128.store(g('o'), v128.f32x4Add(v128.load(g('p')), v128.load(g('q')))),
        set('p', i32.add(g('p'), i32.const(16))),
        set('q', i32.add(g('q'), i32.const(16))),
        set('o', i32.add(g('o'), i32.const(16))),
      ], i32.const(4)),
      fn.forRange('c', g('vecCols'), g('cols'), [
        f32.store(g('o'), f32.add(f32.load(g('p')), f32.load(g('q')))),
        set('p', i32.add(g('p'), i32.const(4))),
        set('q', i32.add(g('q'), i32.const(4))),
        set('o', i32.add(g('o'), i32.const(4))),
      ]),
    ]),
  ]);
}

function reluBackwardFn(): Fn {
  const fn = new Fn('reluBackward', ['dy', 'y', 'dx', 'n'], { i: 'i32', off: 'i32', n4: 'i32' });
  const g = get(fn);
  const set = fn.set;
  const at = (p: string): Code => i32.add(g(p), g('off'));
  return fn.define([
    set('n4', i32.and(g('n'), i32.const(-4))),
    fn.forRange('i', i32.const(0), g('n4'), [
      set('off', i32.shl(g('i'), i32.const(2))),
      v128.store(at('dx'), v128.and(v128.load(at('dy')), v128.f32x4Gt(v128.load(at('y')), v128.zero()))),
    ], i32.const(4)),
    fn.forRange('i', g('n4'), g('n'), [
      set('off', i32.shl(g('i'), i32.const(2))),
      f32.store(at('dx'), select(f32.load(at('dy')), f32.const(0), f32.gt(f32.load(at('y')), f32.const(0)))),
    ]),
  ]);
}

type Gemm = HeapLoops['gemm4x1'];
type ConvFilterGrad = HeapLoops['convFilterGrad4x1'];

/**
 * The GEMM tile for an N-column product: one full-width tile up to 16 columns (every broadcast
 * A value used for all columns), else 4x16 tiles. Needs N >= 4.
 */
export function gemmFor(loops: HeapLoops, n: number): Gemm {
  if (n === 4) return loops.gemm4x1;
  if (n <= 8) return loops.gemmW2;
  if (n <= 12) return loops.gemmW3;
  if (n <= 16) return loops.gemmW4;
  return loops.gemm4x4;
}

/** Same choice for the conv filter gradient's Cout columns. */
export function convFilterGradFor(loops: HeapLoops, cout: number): ConvFilterGrad {
  if (cout === 4) return loops.convFilterGrad4x1;
  if (cout <= 8) return loops.convFilterGradW2;
  if (cout <= 12) return loops.convFilterGradW3;
  if (cout <= 16) return loops.convFilterGradW4;
  return loops.convFilterGrad4x4;
}

/** The slice of the WebAssembly JS API we use (this project's TS lib config does not declare it). */
interface WasmJsApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmJsApi }).WebAssembly;

/** A WebAssembly.Memory (opaque here). */
export type WasmMemory = object;

let compiled: object | null = null;
const instances = new WeakMap<WasmMemory, HeapLoops>();

export function moduleBytes(): Uint8Array {
  return assembleModule([maxPoolGradFn(), maxPoolGradSimdFn(), im2colTFn(), columnSumFn(), addRowVectorFn(),
    gemmFn(1), gemmFn(2), gemmFn(4), convFilterGradFn(1), convFilterGradFn(2), convFilterGradFn(4), convBaseTableFn(),
    gemmFn(2, true), gemmFn(3, true), gemmFn(4, true), convFilterGradFn(2, true), convFilterGradFn(3, true), convFilterGradFn(4, true),
    adamUpdateFn(), col2imFn(), reluBackwardFn(), averageTwoFn()]);
}

/** The loops bound to a tfjs wasm backend's memory (`backend.wasm.asm.memory`). */
export function heapLoops(mem: WasmMemory): HeapLoops {
  let loops = instances.get(mem);
  if (!loops) {
    compiled ??= new WA.Module(moduleBytes());
    const instance = new WA.Instance(compiled, { env: { memory: mem } });
    loops = instance.exports as unknown as HeapLoops;
    instances.set(mem, loops);
  }
  return loops;
}
