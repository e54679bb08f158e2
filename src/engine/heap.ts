import type * as tfjs from '@tensorflow/tfjs';
import { engineStatus } from './start';
import { f32, type WasmBackendInternals } from './kernels/wasm-internals';
import type { TF } from './types';

/**
 * A float32 tensor's values without a copy where the engine knows the backend's storage (a
 * view of the wasm heap, valid until the backend's next allocation), else dataSync (which on
 * cpu is the backend's own array).
 */
export function float32Values(tf: TF, t: tfjs.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm' && engineStatus().fast) return f32(tf.backend() as unknown as WasmBackendInternals, t);
  return t.dataSync() as Float32Array;
}
