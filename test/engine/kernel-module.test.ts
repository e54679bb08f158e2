/**
 * The kernels' WebAssembly modules, compiled from AssemblyScript at build time: they must import
 * nothing but the memory they run on and carry no data segment (instantiating one would write it
 * into the tfjs heap, over live tensors), and export every loop the kernels call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The slice of the WebAssembly JS API used here (this project's TS lib config does not declare it). */
interface Descriptor {
  module?: string;
  name: string;
  kind: string;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(m: object): Descriptor[]; exports(m: object): Descriptor[] };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => object;
  Instance: new (module: object, imports: object) => object;
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
  'batchNormGrad',
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
  'relu6Forward',
  'relu6Grad',
  'reluBackward',
  'reluForward',
  'reluGrad',
  'rmspropUpdate',
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
  'subRowVector',
  'swishForward',
  'swishGrad',
  'tanhForward',
  'tanhGrad',
  'tanhMap',
  'transpose2d',
];

const table: Array<[string, string[], boolean]> = [
  ['heap.wasm', HEAP_EXPORTS, false],
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
