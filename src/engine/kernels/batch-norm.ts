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
import { loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { f32, ptr, sizeOf, type TensorInfo, type WasmKernel, wasmKernel } from './wasm-internals';

interface Inputs {
  x: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  scale?: TensorInfo;
  offset?: TensorInfo;
}

export function makeBatchNormKernel(): WasmKernel {
  return wasmKernel<Inputs>('FusedBatchNorm', (inputs, backend, attrs) => {
    const { x, mean, variance, scale, offset } = inputs;
    const cols = x.shape[x.shape.length - 1] ?? 0;
    const perChannel = [mean, variance, scale, offset].every(
      (t) => t == null || (t.dtype === 'float32' && sizeOf(t) === cols),
    );
    if (x.dtype !== 'float32' || x.shape.length < 2 || cols === 0 || !perChannel)
      return runStock('FusedBatchNorm', inputs as unknown as Record<string, TensorInfo>, backend, attrs);
    const epsilon = Number(attrs.varianceEpsilon ?? 0.001);
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
    const rows = sizeOf(x) / cols;
    loopsOf(backend).affineRowVector(
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
  });
}
