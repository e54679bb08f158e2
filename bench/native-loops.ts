/**
 * The native loops (src/engine/kernels/native/kernels.c) against the relaxed-SIMD wasm loops they replace, on the
 * model families' shapes at batch 16 (what each of 2 workers computes of a batch of 32): the same arguments on the
 * same memory, calls alternating, wall time of each call (both run synchronously on this thread); prints the
 * best and the median of --reps calls each, GFLOP/s at the best for the products, and whether the outputs have the
 * same bits.
 * Usage: node dist/bench/native-loops.js [--reps 40]
 */
import * as os from 'node:os';
import * as v8 from 'node:v8';
import { type HeapLoops, kernelBuild, moduleBytes } from '../src/engine/kernels/heap-loops';
import { nativeAddon, nativeStatus, withNative } from '../src/engine/kernels/native';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const args = process.argv.slice(2);
const reps = args.includes('--reps') ? Number(args[args.indexOf('--reps') + 1]) : 40;

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const mem = new WA.Memory({ initial: 4096 }); // 256 MiB
let top = 64;
/** n floats of the memory (random in [-1, 1) when `random`), 64-byte aligned; their byte offset. */
function alloc(n: number, random = true): number {
  const at = top;
  top += Math.ceil(n / 16) * 64;
  if (random) new Float32Array(mem.buffer, at, n).forEach((_, i, f) => (f[i] = Math.random() * 2 - 1));
  return at;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sameBits = (a: number, b: number, n: number) => {
  const [x, y] = [new Uint32Array(mem.buffer, a, n), new Uint32Array(mem.buffer, b, n)];
  return x.every((v, i) => v === y[i]);
};

/** Times `run(loops, out)` for the wasm and the routed loops alternately; out regions of `outFloats` each. */
function compare(label: string, flops: number, outFloats: number, run: (l: HeapLoops, out: number) => void): void {
  const [o1, o2] = [alloc(outFloats, false), alloc(outFloats, false)];
  const times: number[][] = [[], []];
  for (let r = 0; r < reps; r++) {
    for (const [i, loops, out] of [
      [0, wasm, o1],
      [1, routed, o2],
    ] as const) {
      const t0 = performance.now();
      run(loops, out);
      times[i].push(performance.now() - t0);
    }
  }
  const [w, n] = times.map((t) => Math.min(...t));
  const rate = (ms: number) => (flops ? ` (${(flops / ms / 1e6).toFixed(0)} GFLOP/s)` : '');
  console.log(
    `| ${label} | ${w.toFixed(3)} / ${median(times[0]).toFixed(3)}${rate(w)} | ${n.toFixed(3)} / ${median(times[1]).toFixed(3)}${rate(n)} | ${(w / n).toFixed(2)}x | ${sameBits(o1, o2, outFloats) ? 'yes' : 'NO'} |`,
  );
}

const addon = nativeAddon(kernelBuild());
if (!addon) {
  console.error(`bench/native-loops: ${nativeStatus(kernelBuild())}`);
  process.exit(1);
}
const wasm = new WA.Instance(new WA.Module(moduleBytes()), { env: { memory: mem } }).exports as unknown as HeapLoops;
const routed = withNative(wasm, mem, addon);

console.log(
  `native loops against relaxed-SIMD wasm, best / median ms of ${reps} calls each, load ${os.loadavg()[0].toFixed(1)}\n`,
);
console.log('| loop and shape | wasm | native | speedup | same bits |\n|---|---|---|---|---|');

// [label, images, padded height and width, Cin, filter size, stride, Cout]: convolution forward and filter gradient.
const CONVS: Array<[string, number, number, number, number, number, number]> = [
  ['all-conv layer 2 (3x3 s2 16->32)', 16, 34, 16, 3, 2, 32],
  ['all-conv layer 4 (3x3 s2 32->64)', 16, 18, 32, 3, 2, 64],
  ['all-conv layer 1 (3x3 3->16)', 16, 34, 3, 3, 1, 16],
  ['LeNet 5x5 6->16', 16, 14, 6, 5, 1, 16],
  ['VGG-style 3x3 32->64 (direct)', 16, 18, 32, 3, 1, 64],
];
for (const [label, n, hp, cin, f, s, cout] of CONVS) {
  const oh = Math.floor((hp - f) / s) + 1;
  const m = n * oh * oh;
  const [x, w, b, dy] = [alloc(n * hp * hp * cin), alloc(f * f * cin * cout), alloc(cout), alloc(m * cout)];
  const base = alloc(m, false);
  wasm.convBaseTable(base, n, oh, oh, hp, hp, cin, s, s);
  const flops = 2 * m * f * f * cin * cout;
  const tile = cout <= 8 ? 'convForwardW2' : 'convForward4x2';
  compare(`convForward, ${label}`, flops, m * cout, (l, y) =>
    l[tile](x, w, b, y, base, m, cout, f, f * cin, hp * cin * 4, 1, 0),
  );
  const scratch = alloc(wasm.convFilterGradScratch(cout, f, f * cin) / 4, false);
  compare(`convFilterGradBlocked, ${label}`, flops, f * f * cin * cout, (l, dw) =>
    l.convFilterGradBlocked(x, dy, dw, base, scratch, m, cout, f, f * cin, hp * cin * 4),
  );
}

// Winograd F(4x4, 3x3) on the VGG-style / ResNet-20 shape [16, 16, 16, 32] -> 32: 4x4 tiles of 16x16 images.
{
  const [n, th, c] = [16, 4, 32];
  const tiles = n * th * th;
  const plane = (Math.ceil((tiles * c) / 1024) * 1024 + 16) * 4;
  const x = alloc(n * (4 * th + 2) * (4 * th + 2) * c);
  compare('winograd4Input, [16, 18, 18, 32]', 0, (36 * plane) / 4, (l, v) =>
    l.winograd4Input(x, v, plane, 4 * th + 2, 4 * th + 2, c, th, th, 0, tiles),
  );
  const mt = alloc((36 * plane) / 4);
  const b = alloc(c);
  compare('winograd4Output, to [16, 16, 16, 32], bias, relu', 0, n * 16 * 16 * c, (l, y) =>
    l.winograd4Output(mt, plane, y, b, 16, 16, c, th, th, 0, tiles, 1),
  );
  const u = alloc(36 * c * c);
  compare('gemm (a Winograd point), [256 x 32] x [32 x 32]', 2 * tiles * c * c, tiles * c, (l, out) =>
    l.gemm4x2(mt, c * 4, 4, u, c * 4, out, tiles, c, c),
  );
}
