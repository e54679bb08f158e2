/**
 * FusedBatchNorm (batch normalization's forward arithmetic) for the wasm backend (speed).
 *
 * What was slow: the stock kernel cycles five indices per element and divides by a square root
 * per element (~2.5 ns each: 0.9 ms of a LeNet + BN step).
 *
 * Why this is right: tfjs defines y = offset + (x - mean) * scale / sqrt(variance + epsilon)
 * per element (cpu backend BatchNorm.js), each per-channel input cycled over the last axis.
 * When mean and variance (and scale and offset, if given) hold one value per channel of x's last
 * axis, the per-channel factor a = scale / sqrt(variance + epsilon) is computed once per channel
 * here, and y = (x - mean) * a + offset by one SIMD loop (assembly/elementwise.ts
 * affineRowVector): float32 rounding in another order, within the cpu reference's 1e-6. Other
 * shapes and dtypes keep the stock kernel.
 */
import { heapLoops } from './heap-loops';
import { runStock } from './stock-kernels';
import {
  f32,
  type KernelArgs,
  type KernelFunc,
  ptr,
  type TensorInfo,
  type WasmBackendInternals,
  type WasmKernel,
} from './wasm-internals';

interface Inputs {
  x: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  scale?: TensorInfo;
  offset?: TensorInfo;
}

const size = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

export function makeBatchNormKernel(): WasmKernel {
  const kernelFunc = ((args: KernelArgs<Inputs>) => {
    const { x, mean, variance, scale, offset } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const cols = x.shape[x.shape.length - 1] ?? 0;
    const perChannel = [mean, variance, scale, offset].every(
      (t) => t == null || (t.dtype === 'float32' && size(t) === cols),
    );
    if (x.dtype !== 'float32' || x.shape.length < 2 || cols === 0 || !perChannel)
      return runStock('FusedBatchNorm', args.inputs as unknown as Record<string, TensorInfo>, backend, args.attrs);
    const epsilon = Number(args.attrs.varianceEpsilon ?? 0.001);
    const out = backend.makeOutput(x.shape, 'float32');
    const ab = backend.makeOutput([2 * cols], 'float32');
    // Views after the last allocation.
    const [v, s, o, factors] = [
      f32(backend, variance),
      scale && f32(backend, scale),
      offset && f32(backend, offset),
      f32(backend, ab),
    ];
    for (let c = 0; c < cols; c++) {
      factors[c] = (s ? s[c] : 1) / Math.sqrt(v[c] + epsilon);
      factors[cols + c] = o ? o[c] : 0;
    }
    const p = ptr(backend, ab);
    const rows = size(x) / cols;
    heapLoops(backend.wasm.asm.memory).affineRowVector(
      ptr(backend, x),
      ptr(backend, mean),
      p,
      p + 4 * cols,
      ptr(backend, out),
      rows,
      cols,
    );
    backend.disposeData(ab.dataId);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'FusedBatchNorm', kernelFunc };
}
