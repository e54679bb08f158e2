import type * as tfjs from '@tensorflow/tfjs';
import { heapLoops, type HeapLoops } from './kernels/heap-loops';
import type { WasmBackendInternals } from './kernels/wasm-internals';
import { engineStatus } from './start';
import type { TF } from './types';

/**
 * Writing over a tensor's own data on the wasm heap instead of making a new tensor and assigning
 * it: how the fused optimizers update a variable and its slots, and how the data-parallel exchange
 * refills its gradient tensors, without the engine's per-op bookkeeping (a new tensor, its
 * registration, the assign, the old data's disposal: about as long as the arithmetic itself on a
 * small net's 10 variables).
 *
 * Safe only where nothing else sees the data: `soleData` answers only for data whose backend
 * reference count is 1 (a reshape of a variable, or a tensor a variable was set from and that is
 * still held, shares its data and raises the count), so a caller falls back to the engine
 * otherwise. And the backend must forget what it derived from the old values: tfjs-backend-wasm's
 * XNNPACK operators (convolutions; the fully connected one its BatchMatMul uses) keep each weight
 * packed in a cache keyed by the weight's data, dropped only when that data is disposed, so data
 * written over is re-registered (`rewritten`), which drops those caches and keeps the memory.
 */
export interface InPlaceHeap {
  backend: WasmBackendInternals;
  loops: HeapLoops;
}

/** The wasm heap and its loops when the engine runs its own kernels there; else undefined. */
export function inPlaceHeap(tf: TF): InPlaceHeap | undefined {
  if (tf.getBackend() !== 'wasm' || !engineStatus().fast) return undefined;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  return { backend, loops: heapLoops(backend.wasm.asm.memory) };
}

/** The byte offset of a float32 tensor's data when it alone owns that data; else undefined. */
export function soleData(heap: InPlaceHeap, t: tfjs.Tensor): number | undefined {
  if (t.dtype !== 'float32') return undefined;
  const data = heap.backend.dataIdMap.get(t.dataId);
  return data && data.refCount === 1 && data.memoryOffset != null ? data.memoryOffset : undefined;
}

/** After writing over `t`'s data: the backend drops what it cached from the old values (see the top). */
export function rewritten(heap: InPlaceHeap, t: tfjs.Tensor): void {
  const data = heap.backend.dataIdMap.get(t.dataId);
  heap.backend.wasm.tfjs.disposeData(data.id);
  heap.backend.wasm.tfjs.registerTensor(data.id, t.size, data.memoryOffset);
}

/** A scalar tensor's value: read off the heap where there is one, else through dataSync. */
export function scalarOf(heap: InPlaceHeap | undefined, t: tfjs.Tensor): number {
  const data = heap && t.dtype === 'float32' ? heap.backend.dataIdMap.get(t.dataId) : undefined;
  if (!heap || !data || data.memoryOffset == null) return t.dataSync()[0];
  return heap.backend.wasm.HEAPF32[data.memoryOffset >> 2];
}

/** Sets a float32 scalar variable's value in place; false where it cannot (the caller assigns instead). */
export function setScalarInPlace(heap: InPlaceHeap | undefined, t: tfjs.Variable, value: number): boolean {
  const at = heap && t.size === 1 ? soleData(heap, t) : undefined;
  if (at === undefined) return false;
  heap!.backend.wasm.HEAPF32[at >> 2] = value;
  rewritten(heap!, t);
  return true;
}
