/**
 * The native build of the GEMM-shaped loops (src/engine/kernels/native/kernels.c, kernels/native.ts): it loads on
 * a CPU with AVX2 and FMA3, says why not elsewhere, computes the same bits as the relaxed-SIMD wasm loops it
 * replaces for every shape (edges and the calls too small for its tiles included), and a run gives the same
 * metrics and weights with it and without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { type HeapLoops, kernelBuild, moduleBytes } from '../../src/engine/kernels/heap-loops';
import { LOG_JSONL, MODEL_DIR, WEIGHTS_BIN } from '../../src/run-format/names';
import { nativeAddon, nativeStatus, withNative } from '../../src/engine/kernels/native';
import { metricsWithoutTimings, tempDir, tinyExperiment, writeExperiment, writePngDataset } from '../pipeline/helpers';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** What /proc/cpuinfo says about AVX2 and FMA3 on an x86-64 Linux machine; null where it cannot tell. */
function cpuHasAvx2Fma(): boolean | null {
  if (process.arch !== 'x64' || !fs.existsSync('/proc/cpuinfo')) return null;
  const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(' ') ?? [];
  return flags.includes('avx2') && flags.includes('fma');
}

const statusIn = (env: Record<string, string>) =>
  execFileSync(
    process.execPath,
    [
      '-e',
      `const l = require(${JSON.stringify(path.resolve(__dirname, '../../src/engine/kernels/heap-loops.js'))});` +
        `const n = require(${JSON.stringify(path.resolve(__dirname, '../../src/engine/kernels/native.js'))});` +
        'process.stdout.write(n.nativeStatus(l.kernelBuild()))',
    ],
    { env: { ...process.env, ...env }, encoding: 'utf8' },
  );

test('the native loops run on a CPU with AVX2 and FMA3, and say why not when they are off', () => {
  const has = cpuHasAvx2Fma();
  if (has !== null) assert.equal(statusIn({}), has ? 'native avx2' : 'native off (this CPU lacks AVX2 or FMA3)');
  assert.equal(statusIn({ PIPELINE_NATIVE: 'off' }), 'native off (PIPELINE_NATIVE=off)');
  assert.equal(statusIn({ PIPELINE_WASM_SIMD: 'plain' }), 'native off (the simd wasm build runs)');
  assert.equal(statusIn({ PIPELINE_NATIVE_ADDON: '/nonexistent/pipeline_kernels.node' }), 'native not built');
  const garbage = path.join(tempDir(), 'pipeline_kernels.node');
  fs.writeFileSync(garbage, 'not a shared object');
  assert.match(
    statusIn({ PIPELINE_NATIVE_ADDON: garbage }),
    /^native off \(.*pipeline_kernels\.node does not load: .+\)$/,
  );
});

/** Random floats in [-1, 1) into the memory at a byte offset; the next free offset after them. */
function fill(mem: { buffer: ArrayBuffer }, at: number, n: number, seed: number): number {
  const f = new Float32Array(mem.buffer, at, n);
  let s = seed;
  for (let i = 0; i < n; i++) f[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  return at + Math.ceil(n / 16) * 64;
}

/** Bits of n floats at a byte offset. */
const bits = (mem: { buffer: ArrayBuffer }, at: number, n: number) => Array.from(new Uint32Array(mem.buffer, at, n));

/**
 * The relaxed-SIMD loops on a memory of their own, raw and routed through the addon: a case writes its inputs once,
 * runs `call` with each into its own output region, and compares the outputs' bits.
 */
function pair() {
  const addon = nativeAddon(kernelBuild());
  assert.ok(addon, nativeStatus(kernelBuild()));
  const mem = new WA.Memory({ initial: 512 });
  const raw = new WA.Instance(new WA.Module(moduleBytes()), { env: { memory: mem } }).exports as unknown as HeapLoops;
  return { mem, raw, routed: withNative(raw, mem, addon) };
}

const native = cpuHasAvx2Fma() !== false && kernelBuild() === 'relaxed-simd' ? {} : { skip: 'no native loops here' };

// [images, padded height, padded width, Cin, fh, fw, stride, Cout, bias, relu, output table]
const CONVS: Array<[number, number, number, number, number, number, number, number, boolean, boolean, boolean]> = [
  [4, 18, 18, 16, 3, 3, 2, 32, true, true, false], // the all-conv family's stride-2 layer
  [2, 10, 10, 32, 3, 3, 1, 64, false, false, false],
  [3, 34, 34, 3, 3, 3, 1, 16, true, true, false], // 3 input channels: rows of 9 taps
  [1, 10, 10, 5, 5, 5, 1, 9, true, false, false], // 8 < Cout < 16: one tile, vectors overlapping
  [1, 7, 9, 6, 3, 3, 1, 13, false, true, false],
  [2, 8, 8, 64, 1, 1, 1, 10, true, false, false], // 1x1 to 10 classes
  [1, 9, 9, 7, 2, 2, 1, 23, true, true, true], // output rows through a table (the phase input gradient)
  [1, 4, 4, 3, 3, 3, 1, 8, true, true, false], // 4 pixels: below the native tile, wasm runs
  [1, 6, 6, 4, 3, 3, 1, 6, true, false, false], // 6 channels: wasm runs
];

for (const [n, hp, wp, cin, fh, fw, s, cout, hasBias, relu, table] of CONVS) {
  test(
    `convForward: ${n}x${hp}x${wp}x${cin} ${fh}x${fw} stride ${s} -> ${cout}, same bits native and wasm`,
    native,
    () => {
      const { mem, raw, routed } = pair();
      const [oh, ow] = [Math.floor((hp - fh) / s) + 1, Math.floor((wp - fw) / s) + 1];
      const m = n * oh * ow;
      const x = 64;
      const w = fill(mem, x, n * hp * wp * cin, 1);
      const b = fill(mem, w, fh * fw * cin * cout, 2);
      const base = fill(mem, b, cout, 3);
      raw.convBaseTable(base, n, oh, ow, hp, wp, cin, s, s);
      const ytab = base + Math.ceil(m / 16) * 64;
      // A table writes pixel m's outputs in reverse order, a row apart plus a gap of 3 floats.
      new Int32Array(mem.buffer, ytab, m).forEach((_, i, t) => (t[i] = (m - 1 - i) * (cout + 3) * 4));
      const outFloats = m * (cout + 3);
      const y1 = ytab + Math.ceil(m / 16) * 64;
      const y2 = y1 + Math.ceil(outFloats / 16) * 64;
      new Float32Array(mem.buffer, y1, 2 * outFloats + 64).fill(0);
      const tile = cout === 4 ? 'convForward4x1' : cout <= 8 ? 'convForwardW2' : 'convForward4x2';
      for (const [loops, y] of [
        [raw, y1],
        [routed, y2],
      ] as const)
        loops[tile](
          x,
          w,
          hasBias ? b : 0,
          y,
          base,
          m,
          cout,
          fh,
          fw * cin,
          wp * cin * 4,
          relu ? 1 : 0,
          table ? ytab : 0,
        );
      assert.deepEqual(bits(mem, y2, outFloats), bits(mem, y1, outFloats));
      assert.ok(
        new Float32Array(mem.buffer, y1, outFloats).some((v) => v !== 0),
        'the outputs were written',
      );
    },
  );
}

// [M, N, K, A transposed]
const GEMMS: Array<[number, number, number, boolean]> = [
  [256, 32, 32, false],
  [64, 64, 288, true],
  [100, 13, 17, true],
  [6, 40, 3, false],
  [1000, 10, 64, false],
  [7, 8, 5, false],
  [5, 16, 9, false], // 5 rows: wasm runs
];

for (const [m, n, k, transposed] of GEMMS) {
  test(`gemm: ${m}x${k} ${transposed ? '(transposed) ' : ''}times ${k}x${n}, same bits native and wasm`, native, () => {
    const { mem, raw, routed } = pair();
    const a = 64;
    const b = fill(mem, a, m * k, 4);
    const c1 = fill(mem, b, k * n, 5);
    const c2 = c1 + Math.ceil((m * n) / 16) * 64;
    const [sAi, sAt] = transposed ? [4, m * 4] : [k * 4, 4];
    const tile = n <= 8 ? 'gemmW2' : n <= 12 ? 'gemmW3' : n <= 16 ? 'gemmW4' : 'gemm4x2';
    raw[tile](a, sAi, sAt, b, n * 4, c1, m, n, k);
    routed[tile](a, sAi, sAt, b, n * 4, c2, m, n, k);
    assert.deepEqual(bits(mem, c2, m * n), bits(mem, c1, m * n));
  });
}

// [images, padded height, padded width, Cin, fh, fw, stride, Cout]
const FILTER_GRADS: Array<[number, number, number, number, number, number, number, number]> = [
  [4, 34, 34, 16, 3, 3, 2, 32], // 3 blocks of pixels; tiles of 24 taps x 4 channels
  [4, 18, 18, 32, 3, 3, 2, 64],
  [4, 34, 34, 3, 3, 3, 1, 16], // rows of 9 taps
  [3, 12, 12, 3, 5, 5, 1, 6],
  [1, 300, 1, 8, 1, 1, 1, 13], // rows of 8 taps, 13 channels
  [2, 9, 9, 4, 2, 2, 1, 7], // 8 taps, 7 channels
  [2, 12, 12, 8, 3, 5, 1, 13], // rows of 40 taps: tiles of 24 taps x 4 channels, both overlapping
  [2, 12, 12, 9, 1, 3, 1, 16], // rows of 27 taps: tiles of 16 x 6, which compute less of them
  [2, 9, 9, 3, 2, 2, 1, 12], // 6 taps: wasm runs
];

for (const [n, hp, wp, cin, fh, fw, s, cout] of FILTER_GRADS) {
  test(`convFilterGradBlocked: ${n}x${hp}x${wp}x${cin} ${fh}x${fw} stride ${s} -> ${cout}, same bits`, native, () => {
    const { mem, raw, routed } = pair();
    const [oh, ow] = [Math.floor((hp - fh) / s) + 1, Math.floor((wp - fw) / s) + 1];
    const [m, rowFloats] = [n * oh * ow, fw * cin];
    const taps = fh * rowFloats;
    const x = 64;
    const dy = fill(mem, x, n * hp * wp * cin, 6);
    const base = fill(mem, dy, m * cout, 7);
    raw.convBaseTable(base, n, oh, ow, hp, wp, cin, s, s);
    const scratch = base + Math.ceil(m / 16) * 64;
    const dw1 = scratch + raw.convFilterGradScratch(cout, fh, rowFloats) + 64;
    const dw2 = dw1 + Math.ceil((taps * cout) / 16) * 64;
    for (const [loops, dw] of [
      [raw, dw1],
      [routed, dw2],
    ] as const)
      loops.convFilterGradBlocked(x, dy, dw, base, scratch, m, cout, fh, rowFloats, wp * cin * 4);
    assert.deepEqual(bits(mem, dw2, taps * cout), bits(mem, dw1, taps * cout));
  });
}

// Winograd F(4x4, 3x3) transforms: [images, tile rows, tile columns, channels, first tile, bias, relu]
const TRANSFORMS: Array<[number, number, number, number, number, boolean, boolean]> = [
  [2, 2, 3, 8, 0, true, true],
  [2, 2, 3, 13, 1, false, true], // channel groups overlapping; a range of tiles not from 0
  [1, 3, 2, 32, 2, true, false],
  [1, 2, 2, 5, 0, true, true], // 5 channels: wasm runs
];

for (const [n, th, tw, c, t0, hasBias, relu] of TRANSFORMS) {
  const tiles = n * th * tw;
  const name = `${n}x${th}x${tw} tiles of ${c} channels from tile ${t0}`;
  const plane = (Math.ceil(((tiles - t0) * c) / 16) * 16 + 16) * 4;

  test(`winograd4Input and winograd4GradInput: ${name}, same bits native and wasm`, native, () => {
    const { mem, raw, routed } = pair();
    for (const [fn, h, w] of [
      ['winograd4Input', 4 * th + 2, 4 * tw + 2],
      ['winograd4GradInput', 4 * th, 4 * tw],
    ] as const) {
      const x = 64;
      const v1 = fill(mem, x, n * h * w * c, 8);
      const v2 = v1 + 36 * plane;
      new Float32Array(mem.buffer, v1, (72 * plane) / 4).fill(0);
      raw[fn](x, v1, plane, h, w, c, th, tw, t0, tiles);
      routed[fn](x, v2, plane, h, w, c, th, tw, t0, tiles);
      assert.deepEqual(bits(mem, v2, (36 * plane) / 4), bits(mem, v1, (36 * plane) / 4), fn);
    }
  });

  test(`winograd4Output: ${name}, bias ${hasBias}, relu ${relu}, same bits native and wasm`, native, () => {
    const { mem, raw, routed } = pair();
    const [oh, ow] = [4 * th - 1, 4 * tw - 2]; // the last tiles partly outside
    const m = 64;
    const bias = fill(mem, m, (36 * plane) / 4, 9);
    const y1 = fill(mem, bias, c, 10);
    const y2 = y1 + Math.ceil((n * oh * ow * c) / 16) * 64;
    new Float32Array(mem.buffer, y1, (y2 - y1) / 2).fill(0);
    for (const [loops, y] of [
      [raw, y1],
      [routed, y2],
    ] as const)
      loops.winograd4Output(m, plane, y, hasBias ? bias : 0, oh, ow, c, th, tw, t0, tiles, relu ? 1 : 0);
    assert.deepEqual(bits(mem, y2, n * oh * ow * c), bits(mem, y1, n * oh * ow * c));
  });
}

for (const [cin, cout] of [
  [3, 8],
  [5, 13],
  [16, 32],
  [4, 6], // 6 output channels: wasm runs
]) {
  test(`winograd4Filter: ${cin} -> ${cout} channels, same bits native and wasm`, native, () => {
    const { mem, raw, routed } = pair();
    const g = 64;
    const u1 = fill(mem, g, 9 * cin * cout, 11);
    const u2 = u1 + Math.ceil((36 * cin * cout) / 16) * 64;
    raw.winograd4Filter(g, u1, cin, cout);
    routed.winograd4Filter(g, u2, cin, cout);
    assert.deepEqual(bits(mem, u2, 36 * cin * cout), bits(mem, u1, 36 * cin * cout));
  });
}

test('a run trains to the same metrics and weights with the native loops and without them', native, () => {
  const work = tempDir();
  const data = writePngDataset(path.join(work, 'data'), { train: 96, test: 32 });
  const layers = [
    '{type: conv2d, filters: 16, kernelSize: 3, padding: same, activation: relu}',
    '{type: conv2d, filters: 12, kernelSize: 5, activation: relu}',
    '{type: maxPooling2d, poolSize: 2}',
    '{type: flatten}',
    '{type: dense, units: 4}',
  ];
  const file = writeExperiment(work, tinyExperiment({ dataPath: data, epochs: 2, layers }));
  const bin = path.resolve(__dirname, '../../../bin/pipeline.js');
  const runDirs = ['on', 'off'].map((mode) => {
    const env = {
      ...process.env,
      PIPELINE_CACHE_DIR: path.join(work, 'cache'),
      PIPELINE_NATIVE: mode === 'off' ? 'off' : '',
    };
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'run',
        file,
        '--runs-dir',
        path.join(work, `runs-${mode}`),
        '--backend',
        'wasm',
        '--workers',
        '1',
        '--json',
      ],
      { env, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!).runDir as string;
  });
  const [on, off] = runDirs;
  const stepLine = (dir: string) =>
    fs
      .readFileSync(path.join(dir, LOG_JSONL), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).msg as string)
      .find((m) => m.startsWith('training step:'));
  assert.equal(stepLine(on), 'training step: direct wasm kernels (relaxed-simd wasm, native avx2)');
  assert.equal(
    stepLine(off),
    'training step: direct wasm kernels (relaxed-simd wasm, native off (PIPELINE_NATIVE=off))',
  );
  assert.deepEqual(metricsWithoutTimings(on), metricsWithoutTimings(off));
  const weights = (dir: string) => fs.readFileSync(path.join(dir, MODEL_DIR, WEIGHTS_BIN));
  assert.ok(weights(on).equals(weights(off)), 'weights.bin differs');
});
