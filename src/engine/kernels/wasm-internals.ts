/**
 * The parts of the tfjs `wasm` backend (BackendWasm, @tensorflow/tfjs-backend-wasm 4.22)
 * that our replacement kernels use. Declared here rather than imported because the
 * package's own .d.ts pulls in Emscripten globals this project does not type.
 *
 * Heap rule: every tensor lives at `dataIdMap.get(dataId).memoryOffset` in the wasm heap.
 * `makeOutput` may grow the heap, which detaches earlier typed-array views, so take views
 * (f32) only AFTER the last allocation of a kernel.
 */
import type * as tfTypes from '@tensorflow/tfjs';

export type Tf = typeof tfTypes;
export type TensorInfo = tfTypes.TensorInfo;
export type KernelFunc = tfTypes.KernelFunc;
export type { tfTypes };

/** A kernel we register for backend 'wasm'. */
export interface WasmKernel {
  kernelName: string;
  kernelFunc: KernelFunc;
}

/** What the engine passes to a kernel function. */
export interface KernelArgs<I> {
  inputs: I;
  backend: unknown;
  attrs: Record<string, unknown>;
}

export interface WasmTensorData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

export interface WasmBackendInternals {
  /** `asm.memory` is the module's exported WebAssembly.Memory (what heap-loops.ts imports). */
  wasm: {
    HEAPF32: Float32Array;
    HEAPU8: Uint8Array;
    asm: { memory: object };
    /** The C++ side's tensor registry (XNNPACK's caches are dropped with a tensor's registration). */
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): WasmTensorData };
  makeOutput(shape: number[], dtype: tfTypes.DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A kernel's body: the engine's arguments, typed (inputs as the kernel names them). */
export type KernelBody<I> = (
  inputs: I,
  backend: WasmBackendInternals,
  attrs: Record<string, unknown>,
) => TensorInfo | TensorInfo[];

/** A kernel for backend 'wasm' from its body: the one place the engine's untyped arguments are cast. */
export function wasmKernel<I>(kernelName: string, body: KernelBody<I>): WasmKernel {
  const kernelFunc = ((args: KernelArgs<I>) =>
    body(args.inputs, args.backend as WasmBackendInternals, args.attrs)) as unknown as KernelFunc;
  return { kernelName, kernelFunc };
}

/** Number of elements of a tensor. */
export function sizeOf(info: TensorInfo): number {
  return info.shape.reduce((a, b) => a * b, 1);
}

/** A float32 view of a tensor's data on the wasm heap (valid until the next allocation). */
export function f32(backend: WasmBackendInternals, info: TensorInfo): Float32Array {
  const { memoryOffset } = backend.dataIdMap.get(info.dataId);
  return new Float32Array(backend.wasm.HEAPF32.buffer, memoryOffset, sizeOf(info));
}

/** Byte offset of a tensor's data in the wasm heap. */
export function ptr(backend: WasmBackendInternals, info: TensorInfo): number {
  return backend.dataIdMap.get(info.dataId).memoryOffset;
}

/** Same data, another shape (no copy; the callee must not keep it beyond the call). */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

export function assertFloat32(kernel: string, ...infos: TensorInfo[]): void {
  for (const info of infos) {
    if (info.dtype !== 'float32')
      throw new Error(`${kernel} (pipeline wasm kernel): expected float32, got ${info.dtype}`);
  }
}

/** Throws unless every tensor in `infos` has as many elements as `like` (elementwise kernels). */
export function assertSameSize(kernel: string, like: TensorInfo, ...infos: TensorInfo[]): void {
  const n = sizeOf(like);
  for (const info of infos) {
    if (sizeOf(info) !== n) throw new Error(`${kernel}: shape ${info.shape} does not match ${like.shape}`);
  }
}

/** The shape arguments of the window loops, in their order. */
export type WindowArgs = [
  n: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
  strideH: number,
  strideW: number,
  filterH: number,
  filterW: number,
  padTop: number,
  padLeft: number,
];

/**
 * An undilated convolution's or pooling's shape as the window loops (pooling gradients, im2colT,
 * col2im) take it. Only for dilation 1, where the filter is the window (filterHeight equals
 * effectiveFilterHeight).
 */
export function windowArgs(info: tfTypes.backend_util.Conv2DInfo): WindowArgs {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.filterHeight,
    info.filterWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}
