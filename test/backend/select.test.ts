/**
 * selectBackend: what each request gives on this machine (tfjs-node absent, wasm installed),
 * the UsageError messages, idempotent kernel registration, and that wasm loads from any cwd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend';
import { registerWasmKernels, WASM_KERNEL_FIXES } from '../../src/engine/kernels';
import { isOurs } from '../../src/engine/kernels/stock-kernels';
import { UsageError } from '../../src/errors';

tf.env().set('PROD', true);

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}
const skip = tfjsNodeInstalled() ? 'this machine has @tensorflow/tfjs-node' : false;

test('auto falls back to wasm when @tensorflow/tfjs-node is not installed', { skip }, async () => {
  const selected = await selectBackend('auto');
  assert.equal(selected.name, 'wasm');
  assert.equal(selected.reason, 'auto: @tensorflow/tfjs-node not installed; using wasm');
  assert.equal(selected.tf.getBackend(), 'wasm');
  for (const fix of WASM_KERNEL_FIXES) {
    assert.ok(isOurs(tf.getKernel(fix.kernelName, 'wasm').kernelFunc), `${fix.kernelName} is ours`);
  }
});

test('explicit tensorflow without @tensorflow/tfjs-node is a UsageError', { skip }, async () => {
  await assert.rejects(selectBackend('tensorflow'), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.equal(
      err.message,
      "backend 'tensorflow' requested but @tensorflow/tfjs-node not installed; " +
        "install it (npm install @tensorflow/tfjs-node) or request 'wasm' or 'cpu'",
    );
    return true;
  });
});

const table: Array<['wasm' | 'cpu', string]> = [
  ['wasm', 'requested wasm'],
  ['cpu', 'requested cpu'],
];
for (const [requested, reason] of table) {
  test(`explicit ${requested}`, async () => {
    const selected = await selectBackend(requested);
    assert.deepEqual([selected.name, selected.reason, tf.getBackend()], [requested, reason, requested]);
  });
}

test('an unknown request is a UsageError', async () => {
  await assert.rejects(
    selectBackend('gpu' as 'cpu'),
    new UsageError("unknown backend 'gpu': expected one of auto, tensorflow, wasm, cpu"),
  );
});

test('registerWasmKernels is idempotent and keeps our kernels registered', async () => {
  await selectBackend('wasm');
  const names = WASM_KERNEL_FIXES.map((f) => f.kernelName);
  assert.deepEqual(registerWasmKernels(tf), names);
  assert.deepEqual(registerWasmKernels(tf), names);
  const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, tf.ones([2, 2, 1, 1]), 1, 'valid')));
  assert.deepEqual(Array.from(grad(tf.ones([1, 3, 3, 1])).dataSync()), [1, 2, 1, 2, 4, 2, 1, 2, 1]);
});

test('wasm initializes from another working directory (no setWasmPaths needed)', { skip }, () => {
  const backendIndex = path.resolve(__dirname, '../../src/backend/index.js');
  const script = `
    require(${JSON.stringify(backendIndex)}).selectBackend('auto').then((s) => {
      const w = s.tf.variable(s.tf.ones([2, 2, 1, 1]));
      const g = s.tf.variableGrads(() => s.tf.sum(s.tf.conv2d(s.tf.ones([1, 3, 3, 1]), w, 1, 'valid')), [w]);
      console.log(s.name, process.cwd(), Array.from(g.grads[w.name].dataSync()).join(','));
    });`;
  const cwd = os.tmpdir();
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: '' },
  });
  assert.equal(out.trim(), `wasm ${cwd} 4,4,4,4`);
});
