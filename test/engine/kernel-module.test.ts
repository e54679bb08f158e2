/**
 * The kernels' WebAssembly modules, compiled from AssemblyScript at build time: they must import
 * nothing but the memory they run on and carry no data segment (instantiating one would write it
 * into the tfjs heap, over live tensors), and export every loop the kernels call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as v8 from 'node:v8';

// heap-relaxed.wasm uses relaxed SIMD, which Node 20's V8 validates only behind this flag (heap-loops.ts sets it too).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

/** The slice of the WebAssembly JS API used here (this project's TS lib config does not declare it). */
interface Descriptor {
  module?: string;
  name: string;
  kind: string;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(m: object): Descriptor[]; exports(m: object): Descriptor[] };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: Record<string, (...args: number[]) => number> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const KERNELS = path.resolve(__dirname, '../../src/engine/kernels');

/** Section ids of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    ids.push(bytes[at++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    at += size;
  }
  return ids;
}

const HEAP_EXPORTS = [
  'adadeltaUpdate',
  'adagradUpdate',
  'adamUpdate',
  'adamaxUpdate',
  'addRowVector',
  'affineRowVector',
  'averageTwo',
  'avgPoolGrad',
  'batchNormGradApply',
  'batchNormGradSums',
  'batchNormSquares',
  'batchNormSums',
  'clampedRelu',
  'clampedReluGrad',
  'col2im',
  'columnSum',
  'convBaseTable',
  'convFilterGrad4x1',
  'convFilterGrad4x2',
  'convFilterGrad4x4',
  'convFilterGradBlocked',
  'convFilterGradScratch',
  'convFilterGradW2',
  'convFilterGradW3',
  'convFilterGradW4',
  'convForward4x1',
  'convForward4x2',
  'convForwardW2',
  'depthwiseFilterGrad',
  'depthwiseInputGrad',
  'eluForward',
  'eluGrad',
  'geluForward',
  'geluGrad',
  'geluNewForward',
  'geluNewGrad',
  'gemm4x1',
  'gemm4x2',
  'gemmW2',
  'gemmW3',
  'gemmW4',
  'hardSigmoidForward',
  'hardSigmoidGrad',
  'im2colT',
  'maxPoolGrad',
  'maxPoolGradSimd',
  'mishForward',
  'mishGrad',
  'momentumUpdate',
  'mulRowVector',
  'padNhwc',
  'relu6Forward',
  'relu6Grad',
  'reluBackward',
  'reluForward',
  'reluGrad',
  'rmspropUpdate',
  's2Filter',
  's2FilterGrad',
  's2Forward',
  's2GradTiles',
  's2Input',
  's2InputGrad',
  'seluForward',
  'seluGrad',
  'sgdUpdate',
  'sigmoidForward',
  'sigmoidGrad',
  'sigmoidMap',
  'softmaxRows',
  'softmaxRowsGrad',
  'softplusForward',
  'softplusGrad',
  'softsignForward',
  'softsignGrad',
  'spatialMean',
  'spatialMeanGrad',
  'stackRows',
  'subRowVector',
  'swishForward',
  'swishGrad',
  'tanhForward',
  'tanhGrad',
  'tanhMap',
  'transpose2d',
  'winograd4Filter',
  'winograd4FilterGrad',
  'winograd4GradInput',
  'winograd4Input',
  'winograd4Output',
  'winogradFilter',
  'winogradFilterGrad',
  'winogradGradInput',
  'winogradInput',
  'winogradOutput',
];

const table: Array<[string, string[], boolean]> = [
  ['heap.wasm', HEAP_EXPORTS, false],
  ['heap-relaxed.wasm', HEAP_EXPORTS, false],
  ['shared-average.wasm', ['averageTwo'], true],
];
for (const [file, exported, shared] of table) {
  test(`${file}: imports only env.memory${shared ? ' (shared)' : ''}, no data segment, exports its loops`, () => {
    const bytes = fs.readFileSync(path.join(KERNELS, file));
    const mod = new WA.Module(bytes);
    assert.deepEqual(WA.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.ok(!sectionIds(bytes).includes(11), 'no data section');
    const functions = WA.Module.exports(mod)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name)
      .sort();
    assert.deepEqual(functions, exported);
    const memory = new WA.Memory({ initial: 1, maximum: 1, shared });
    new WA.Instance(mod, { env: { memory } });
  });
}

/**
 * One 'same' 3x3 convolution, stride 2, 5 -> 10 channels with bias and relu, as conv2d-forward.ts runs it (padNhwc,
 * convBaseTable, convForward4x2) on a build's module, against a float64 loop.
 */
function convOn(file: string): { got: Float32Array; want: Float64Array } {
  const [n, h, w, ci, co, oh, ow] = [2, 7, 6, 5, 10, 4, 3];
  const memory = new WA.Memory({ initial: 1, maximum: 1, shared: false });
  const loops = new WA.Instance(new WA.Module(fs.readFileSync(path.join(KERNELS, file))), { env: { memory } }).exports;
  const f = new Float32Array(memory.buffer);
  const [X, W, B, XP, BASE, Y] = [0, 1024, 2048, 2304, 3328, 3584]; // float indices
  for (let i = 0; i < n * h * w * ci; i++) f[X + i] = Math.sin(i * 0.37);
  for (let i = 0; i < 9 * ci * co; i++) f[W + i] = Math.cos(i * 0.11);
  for (let i = 0; i < co; i++) f[B + i] = 0.1 * i - 0.4;
  loops.padNhwc(X * 4, XP * 4, n, h, w, ci, 1, 1, 1, 1);
  loops.convBaseTable(BASE * 4, n, oh, ow, h + 2, w + 2, ci, 2, 2);
  loops.convForward4x2(XP * 4, W * 4, B * 4, Y * 4, BASE * 4, n * oh * ow, co, 3, 3 * ci, (w + 2) * ci * 4, 1, 0);
  const want = new Float64Array(n * oh * ow * co);
  for (let m = 0; m < n * oh * ow; m++) {
    const [b, y, x] = [Math.floor(m / (oh * ow)), Math.floor(m / ow) % oh, m % ow];
    for (let o = 0; o < co; o++) {
      let s = f[B + o];
      for (let kh = 0; kh < 3; kh++) {
        for (let kw = 0; kw < 3; kw++) {
          const [r, c] = [y * 2 + kh - 1, x * 2 + kw - 1];
          if (r < 0 || r >= h || c < 0 || c >= w) continue;
          for (let i = 0; i < ci; i++)
            s += f[X + ((b * h + r) * w + c) * ci + i] * f[W + ((kh * 3 + kw) * ci + i) * co + o];
        }
      }
      want[m * co + o] = Math.max(s, 0);
    }
  }
  return { got: f.slice(Y, Y + want.length), want };
}

for (const file of ['heap.wasm', 'heap-relaxed.wasm']) {
  test(`${file}: padNhwc + convForward4x2 compute a padded, strided convolution with bias and relu`, () => {
    const { got, want } = convOn(file);
    const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
    assert.ok(want.some((v) => v === 0) && want.some((v) => v > 1), 'relu clipped some outputs, not all');
  });
}

test('the relaxed-SIMD build runs unless PIPELINE_WASM_SIMD=plain', () => {
  const loops = path.resolve(__dirname, '../../src/engine/kernels/heap-loops.js');
  const build = (env: Record<string, string>) =>
    execFileSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(loops)}).kernelBuild())`], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  assert.equal(build({ PIPELINE_WASM_SIMD: '' }), 'relaxed-simd');
  assert.equal(build({ PIPELINE_WASM_SIMD: 'plain' }), 'simd');
});
