/**
 * Cast for the wasm backend.
 *
 * What was wrong (tfjs-backend-wasm 4.22, kernels/Cast.ts): the stock kernel copies with
 * TypedArray.set, so casting to 'bool' stores ToUint8(x) (modulo 256, truncated): 0.5 -> 0,
 * 256 -> 0, -7 -> 249, 2 -> 2, where tfjs (cpu backend) defines bool(x) = (x != 0), i.e.
 * 1, 1, 1, 1. And a cast to the same dtype copied the whole tensor.
 *
 * Why this is right: to 'bool' we compute x != 0 (NaN != 0, so NaN -> true, as on cpu);
 * a same-dtype cast shares the data like Identity (tensors are immutable); every other cast
 * (float32 <-> int32 truncation, bool -> number) keeps the stock kernel, whose TypedArray
 * conversion matches cpu there.
 */
import { runStock } from './stock-kernels';
import type { KernelArgs, KernelFunc, TensorInfo, WasmBackendInternals, WasmKernel } from './wasm-internals';

interface TypedHeap {
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: object): void;
}

export function makeCastKernel(): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ x: TensorInfo }>) => {
    const { x } = args.inputs;
    const dtype = args.attrs.dtype as TensorInfo['dtype'];
    const backend = args.backend as WasmBackendInternals & TypedHeap;
    if (dtype === x.dtype && dtype !== 'string') {
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype };
    }
    if (dtype !== 'bool' || x.dtype === 'string' || x.dtype === 'complex64')
      return runStock('Cast', { x }, backend, args.attrs);
    const out = backend.makeOutput(x.shape, 'bool');
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'Cast', kernelFunc };
}
