/**
 * Tanh and Sigmoid for the wasm backend (speed).
 *
 * What was slow: the stock kernels call libm's tanhf / expf once per element, ~8 ns each: in a
 * classic LeNet (tanh after every layer, and tfjs's tanh gradient recomputing it) that was a
 * quarter of the training step.
 *
 * Why this is right: assembly/activations.ts evaluates the Cephes single-precision formulas 4
 * lanes at a time (relative error ~2e-7 against the cpu backend's Math.tanh / 1 / (1 + e^-x),
 * checked in test/engine/kernels.test.ts). Non-float32 inputs keep the stock kernel.
 */
import { loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { ptr, type TensorInfo, type WasmKernel, wasmKernel } from './wasm-internals';

export function makeActivationKernel(kernelName: 'Tanh' | 'Sigmoid', loop: 'tanhMap' | 'sigmoidMap'): WasmKernel {
  return wasmKernel<{ x: TensorInfo }>(kernelName, (inputs, backend, attrs) => {
    const { x } = inputs;
    if (x.dtype !== 'float32') return runStock(kernelName, { x }, backend, attrs);
    const out = backend.makeOutput(x.shape, 'float32');
    const n = x.shape.reduce((a, b) => a * b, 1);
    loopsOf(backend)[loop](ptr(backend, x), ptr(backend, out), n);
    return out;
  });
}
