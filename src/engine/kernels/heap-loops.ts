/**
 * Memory-bound and GEMM inner loops of our wasm kernels: a WebAssembly module compiled at build
 * time from AssemblyScript (assembly/heap.ts and the files it exports; `npm run build:kernels`)
 * into dist/, next to this file. It imports the tfjs wasm backend's own memory, so it reads and
 * writes tensors in place at their heap offsets, no copies in or out. Instantiated once per
 * backend instance.
 *
 * All pointers are BYTE offsets into the tfjs heap (TensorData.memoryOffset); all tensors
 * float32, NHWC.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { nativeAddon, withNative } from './native';
import type { WindowArgs } from './wasm-internals';

/** The conv filter gradient's operands (byte offsets: input, dy, dw, the windows' base table) and sizes. */
export type FilterGradOperands = [x: number, dy: number, dw: number, base: number];
export type FilterGradShape = [m: number, cout: number, fh: number, rowFloats: number, rowBytes: number];

export interface HeapLoops {
  /**
   * dx = 0; for every output cell (n,oh,ow,ch): dx[first max of its window] += dy[cell].
   * "First" = row-major, strictly greater, starting from -Infinity (cpu backend's rule).
   */
  maxPoolGrad(x: number, dy: number, dx: number, ...window: WindowArgs): void;
  /**
   * Transposed patches for a conv filter gradient:
   * pt[((kh*fw + kw)*C + ci) * M + (n*OH + oh)*OW + ow] = x[n, oh*sh+kh-pt, ow*sw+kw-pl, ci] or 0,
   * with M = N*OH*OW.
   */
  im2colT(x: number, pt: number, ...window: WindowArgs): void;
  /**
   * Same result as maxPoolGrad given y = the forward max-pool output, for C >= 4: per output
   * cell, 4 channels at a time (SIMD), the gradient goes to the first window element equal
   * to y (which is the first maximum, ties and signed zeros included).
   */
  maxPoolGradSimd(x: number, y: number, dy: number, dx: number, ...window: WindowArgs): void;
  /** See assembly/gemm.ts. */
  gemm4x1(
    a: number,
    sAi: number,
    sAt: number,
    b: number,
    sBt: number,
    c: number,
    m: number,
    n: number,
    k: number,
  ): void;
  gemm4x2(
    a: number,
    sAi: number,
    sAt: number,
    b: number,
    sBt: number,
    c: number,
    m: number,
    n: number,
    k: number,
  ): void;
  convFilterGrad4x1(
    x: number,
    dy: number,
    dw: number,
    base: number,
    kOff: number,
    m: number,
    cout: number,
    k: number,
  ): void;
  convFilterGrad4x2(
    x: number,
    dy: number,
    dw: number,
    base: number,
    kOff: number,
    m: number,
    cout: number,
    k: number,
  ): void;
  convFilterGrad4x4(
    x: number,
    dy: number,
    dw: number,
    base: number,
    kOff: number,
    m: number,
    cout: number,
    k: number,
  ): void;
  /** Full-width tiles for 4 < N <= 4*RN columns (assembly/gemm.ts). */
  gemmW2: HeapLoops['gemm4x1'];
  gemmW3: HeapLoops['gemm4x1'];
  gemmW4: HeapLoops['gemm4x1'];
  convFilterGradW2: HeapLoops['convFilterGrad4x1'];
  convFilterGradW3: HeapLoops['convFilterGrad4x1'];
  convFilterGradW4: HeapLoops['convFilterGrad4x1'];
  /** See assembly/conv-filter-grad.ts. */
  convFilterGradBlocked(...args: [...FilterGradOperands, scratch: number, ...FilterGradShape]): void;
  /** See assembly/conv-forward.ts (bias 0 for none, relu 0 or 1). */
  convForward4x2(
    x: number,
    w: number,
    bias: number,
    y: number,
    base: number,
    m: number,
    cout: number,
    fh: number,
    rowFloats: number,
    rowBytes: number,
    relu: number,
    /** 0: pixel m's outputs at y + m*cout*4; else a table of their byte offsets from y. */
    ytab: number,
  ): void;
  convForward4x1: HeapLoops['convForward4x2'];
  convForwardW2: HeapLoops['convForward4x2'];
  /** y = x zero-padded by top/bottom rows and left/right columns (NHWC; assembly/im2col.ts). */
  padNhwc(
    x: number,
    y: number,
    n: number,
    h: number,
    w: number,
    c: number,
    top: number,
    bottom: number,
    left: number,
    right: number,
  ): void;
  /** y[n, oh, w, kh*c + ci] = x[n, oh*sh + kh, w, ci] (padded NHWC x; y needs 3 floats of room; assembly/im2col.ts). */
  stackRows(
    x: number,
    y: number,
    n: number,
    hp: number,
    wp: number,
    c: number,
    fh: number,
    oh: number,
    sh: number,
  ): void;
  /** Winograd F(2x2, 3x3) transforms (assembly/winograd.ts); the input and output ones for tiles t0..t1-1. */
  winogradInput(
    xp: number,
    v: number,
    plane: number,
    hp: number,
    wp: number,
    c: number,
    th: number,
    tw: number,
    t0: number,
    t1: number,
  ): void;
  winogradFilter(g: number, u: number, cin: number, cout: number): void;
  winogradGradInput: HeapLoops['winogradInput'];
  winogradFilterGrad(du: number, dw: number, cin: number, cout: number): void;
  winogradOutput(
    m: number,
    plane: number,
    y: number,
    bias: number,
    oh: number,
    ow: number,
    c: number,
    th: number,
    tw: number,
    t0: number,
    t1: number,
    relu: number,
  ): void;
  /** Winograd F(4x4, 3x3) transforms (assembly/winograd4.ts): the same arguments, 6x6 windows, 36 planes. */
  winograd4Input: HeapLoops['winogradInput'];
  winograd4Filter: HeapLoops['winogradFilter'];
  winograd4GradInput: HeapLoops['winogradInput'];
  winograd4FilterGrad: HeapLoops['winogradFilterGrad'];
  winograd4Output: HeapLoops['winogradOutput'];
  /** Stride-2 3x3 convolutions by phases and Winograd F(2,2) (assembly/winograd-s2.ts, winograd-s2-grad.ts). */
  s2Filter(g: number, u: number, cin: number, cout: number, flip: number, transpose: number): void;
  s2Input(
    xp: number,
    v: number,
    plane: number,
    t0: number,
    t1: number,
    hp: number,
    wp: number,
    c: number,
    th: number,
    tw: number,
  ): void;
  s2Forward(
    xp: number,
    u: number,
    bias: number,
    y: number,
    v: number,
    m: number,
    vPlane: number,
    mPlane: number,
    n: number,
    hp: number,
    wp: number,
    cin: number,
    oh: number,
    ow: number,
    cout: number,
    block: number,
    relu: number,
  ): void;
  s2InputGrad(
    dyp: number,
    u: number,
    dx: number,
    v: number,
    m: number,
    vPlane: number,
    mPlane: number,
    n: number,
    hp: number,
    wp: number,
    cout: number,
    h: number,
    w: number,
    cin: number,
    padTop: number,
    padLeft: number,
    block: number,
  ): void;
  s2GradTiles(
    dyp: number,
    e: number,
    plane: number,
    n: number,
    ohp: number,
    owp: number,
    c: number,
    th: number,
    tw: number,
  ): void;
  s2FilterGrad(du: number, dw: number, cin: number, cout: number): void;
  /** Bytes of scratch convFilterGradBlocked needs. */
  convFilterGradScratch(cout: number, fh: number, rowFloats: number): number;
  convBaseTable(
    table: number,
    n: number,
    oh: number,
    ow: number,
    hp: number,
    wp: number,
    c: number,
    sh: number,
    sw: number,
  ): void;
  /** See assembly/optimizers.ts. */
  adamUpdate(
    x: number,
    m: number,
    v: number,
    g: number,
    xOut: number,
    mOut: number,
    vOut: number,
    n: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    c1: number,
    c2: number,
    epsilon: number,
    negLearningRate: number,
  ): void;
  /**
   * dx = 0; for each output pixel m = (n,oh,ow) and tap (kh,kw) inside the input:
   * dx[n, oh*sh+kh-pt, ow*sw+kw-pl, :] += dp[m, (kh*fw + kw)*C : ... + C]   (col2im)
   */
  col2im(dp: number, dx: number, ...window: WindowArgs): void;
  /** out[i] = float32(wa * a[i] + wb * b[i]) in float64, n even (assembly/average.ts). */
  averageTwo(out: number, a: number, b: number, n: number, wa: number, wb: number): void;
  /** out[c] = sum over r of x[r*cols + c]  (reduce all leading axes of a [rows, cols] tensor). */
  columnSum(x: number, out: number, rows: number, cols: number): void;
  /** out[r*cols + c] = x[r*cols + c] + b[c]  (bias add broadcast over the last axis). */
  addRowVector(x: number, b: number, out: number, rows: number, cols: number): void;
  /** out[r*cols + c] = x[r*cols + c] * b[c]  (per-channel scale broadcast over the last axis). */
  mulRowVector(x: number, b: number, out: number, rows: number, cols: number): void;
  /**
   * Batch normalization over the rows of one shard of a [rows, cols] tensor (assembly/batch-norm-grad.ts):
   * column sums of x, of (x - mean)^2, and of dy and dy * xhat ([2 * cols]); then dx from the whole
   * batch's [dbeta | dgamma] sums, divided by the shard's rows.
   */
  batchNormSums(x: number, out: number, rows: number, cols: number): void;
  batchNormSquares(x: number, mean: number, out: number, rows: number, cols: number): void;
  batchNormGradSums(x: number, dy: number, mean: number, inv: number, out: number, rows: number, cols: number): void;
  batchNormGradApply(
    x: number,
    dy: number,
    mean: number,
    inv: number,
    scale: number,
    sums: number,
    dx: number,
    rows: number,
    cols: number,
  ): void;
  /** out[r*cols + c] = (x[r*cols + c] - m[c]) * a[c] + b[c]  (batch normalization's affine map). */
  affineRowVector(x: number, m: number, a: number, b: number, out: number, rows: number, cols: number): void;
  /** out[r*cols + c] = x[r*cols + c] - b[c]  (centring by a per-channel mean). */
  subRowVector(x: number, b: number, out: number, rows: number, cols: number): void;
  /** out[i] = tanh(x[i]), out[i] = 1 / (1 + e^-x[i]) for i < n (assembly/activations.ts). */
  tanhMap(x: number, out: number, n: number): void;
  sigmoidMap(x: number, out: number, n: number): void;
  /** See assembly/avg-pool-grad.ts. */
  avgPoolGrad(dy: number, dx: number, ...args: [...window: WindowArgs, mult: number]): void;
  /** dst[c*rows + r] = src[r*cols + c] (assembly/transpose.ts). */
  transpose2d(src: number, dst: number, rows: number, cols: number): void;
  /** dx[i] = y[i] > 0 ? dy[i] : 0 for i < n: the ReLU gradient from its output y (dx may be dy: in place). */
  reluBackward(dy: number, y: number, dx: number, n: number): void;
}

type Gemm = HeapLoops['gemm4x1'];
type ConvFilterGrad = HeapLoops['convFilterGrad4x1'];

/**
 * The GEMM tile for an N-column product: one full-width tile up to 16 columns (every broadcast
 * A value used for all columns), else 4x8 tiles: 8 accumulators stay in V8's x86 registers where
 * 4x16's 16 spill (measured 25 -> 35 GFLOP/s on [32,576]x[576,120], 17 -> 35 on [4096,64]x[64,288]).
 * Every tile sums in the same order, so the choice does not change the bits. Needs N >= 4.
 */
export function gemmFor(loops: HeapLoops, n: number): Gemm {
  if (n === 4) return loops.gemm4x1;
  if (n <= 8) return loops.gemmW2;
  if (n <= 12) return loops.gemmW3;
  if (n <= 16) return loops.gemmW4;
  return loops.gemm4x2;
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
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly: WasmJsApi }).WebAssembly;

/** A WebAssembly.Memory (opaque here). */
export type WasmMemory = object;

let compiled: object | null = null;
const instances = new WeakMap<WasmMemory, HeapLoops>();

/**
 * The two builds of the loops (`npm run build:kernels`, from the same sources): `simd`, and
 * `relaxed-simd`, whose multiply-adds are f32x4.relaxed_madd (fused on x86 with FMA3: one rounding
 * instead of two, so its results differ from the plain build's in the last bits). Node 20's V8 has
 * relaxed SIMD behind --experimental-wasm-relaxed-simd, so the flag is set before the first
 * compile; where the module still does not validate, the plain build runs. The flag is
 * process-wide and every thread makes the same choice, so the main thread and the training
 * workers run the same module and get the same bits. PIPELINE_WASM_SIMD=plain forces the plain build.
 */
export type KernelBuild = 'simd' | 'relaxed-simd';
let chosen: { build: KernelBuild; bytes: Uint8Array } | null = null;

function chooseBuild(): { build: KernelBuild; bytes: Uint8Array } {
  const read = (file: string) => fs.readFileSync(path.join(__dirname, file));
  if (process.env.PIPELINE_WASM_SIMD !== 'plain') {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    const relaxed = read('heap-relaxed.wasm');
    if (WA.validate(relaxed)) return { build: 'relaxed-simd', bytes: relaxed };
  }
  return { build: 'simd', bytes: read('heap.wasm') };
}

/** Which build this process runs (chosen once, on first use). */
export function kernelBuild(): KernelBuild {
  chosen ??= chooseBuild();
  return chosen.build;
}

/** The chosen build's bytes. */
export function moduleBytes(): Uint8Array {
  chosen ??= chooseBuild();
  return chosen.bytes;
}

/** Whether the native build of the GEMM-shaped loops runs in this process (kernels/native.ts). */
export function nativeRuns(): boolean {
  return nativeAddon(kernelBuild()) !== null;
}

/** The loops bound to a tfjs wasm backend (its module's memory). */
export function loopsOf(backend: { wasm: { asm: { memory: WasmMemory } } }): HeapLoops {
  return heapLoops(backend.wasm.asm.memory);
}

/**
 * The loops bound to a tfjs wasm backend's memory (`backend.wasm.asm.memory`), with the GEMM-shaped loops and the
 * Winograd F(4x4) transforms routed to their native build where it runs (native.ts; the same bits).
 */
export function heapLoops(mem: WasmMemory): HeapLoops {
  let loops = instances.get(mem);
  if (!loops) {
    compiled ??= new WA.Module(moduleBytes());
    const instance = new WA.Instance(compiled, { env: { memory: mem } });
    const wasm = instance.exports as unknown as HeapLoops;
    const addon = nativeAddon(kernelBuild());
    loops = addon ? withNative(wasm, mem as { buffer: ArrayBuffer }, addon) : wasm;
    instances.set(mem, loops);
  }
  return loops;
}
