import type * as tfjs from '@tensorflow/tfjs';
import { heapLoops, type HeapLoops } from '../kernels/heap-loops';
import type { TensorInfo, WasmBackendInternals } from '../kernels/wasm-internals';
import type { Shard } from '../shards';
import type { TF } from '../types';

type Backend = WasmBackendInternals & {
  write(values: Float32Array | null, shape: number[], dtype: 'float32'): object;
};

interface CallLookups {
  backend: Backend;
  loops?: HeapLoops;
  kernels: Map<string, tfjs.KernelFunc>;
}

export const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });
export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The data of one direct-step call (direct-step.ts) on the wasm backend: backend tensors made
 * by kernel calls and allocations, and engine tensors made by tfjs ops, all freed by `free` at
 * the call's end. Also the bridge between the two: `asTensor` hands a backend tensor of this
 * call to tfjs ops, `fromTensor` takes a tfjs op's result back. Members are arrow functions so
 * the step can take them apart.
 */
export class CallScope {
  /** Backend tensors of the current call. */
  private readonly temps: TensorInfo[] = [];
  /** Engine tensors of the current call (dropout masks, tfjs ops' results, adopted temps). */
  private readonly engineTemps: tfjs.Tensor[] = [];
  /** The engine tensor that owns each data id handed to tfjs ops. */
  private readonly engineOf = new Map<object, tfjs.Tensor>();
  /**
   * Looked up once per call, not per use (each lookup walks the tf namespace's getters and the
   * kernel registry's string keys: ~60 of them a step); forgotten by `free`, so a backend or
   * kernel registered between two calls is seen.
   */
  private current: CallLookups | undefined;

  constructor(private readonly tf: TF) {}

  private now = (): CallLookups =>
    (this.current ??= { backend: this.tf.backend() as unknown as Backend, kernels: new Map() });
  backend = (): Backend => this.now().backend;
  loops = (): HeapLoops => {
    const c = this.now();
    return (c.loops ??= heapLoops(c.backend.wasm.asm.memory));
  };
  ptr = (t: TensorInfo): number => this.now().backend.dataIdMap.get(t.dataId).memoryOffset;
  read = (v: tfjs.LayerVariable): TensorInfo => v.read();

  free = (): void => {
    const b = this.backend();
    for (const t of this.temps.splice(0)) b.disposeData(t.dataId);
    this.tf.dispose(this.engineTemps.splice(0));
    this.engineOf.clear();
    this.current = undefined;
  };

  private kernel(kernelName: string): tfjs.KernelFunc {
    const { kernels } = this.now();
    let f = kernels.get(kernelName);
    if (!f) {
      const kernel = this.tf.getKernel(kernelName, 'wasm');
      if (!kernel) throw new Error(`direct step: kernel ${kernelName} is not registered for wasm`);
      f = kernel.kernelFunc;
      kernels.set(kernelName, f);
    }
    return f;
  }

  /** A registered wasm kernel, called without the engine; its output belongs to this call. */
  run = (
    kernelName: string,
    inputs: Record<string, TensorInfo | undefined>,
    attrs: Record<string, unknown>,
  ): TensorInfo => {
    const out = this.kernel(kernelName)({
      inputs: inputs as tfjs.NamedTensorInfoMap,
      backend: this.backend() as never,
      attrs: attrs as tfjs.NamedAttrMap,
    }) as TensorInfo;
    this.temps.push(out);
    return out;
  };

  alloc = (shape: number[]): TensorInfo => {
    const out = this.backend().makeOutput(shape, 'float32');
    this.temps.push(out);
    return out;
  };

  write = (values: Float32Array, shape: number[]): TensorInfo => {
    const t = { dataId: this.backend().write(values, shape, 'float32'), shape, dtype: 'float32' as const };
    this.temps.push(t);
    return t;
  };

  /**
   * This call's data as an engine tensor, for tfjs ops (tfjs layers and activations, other
   * losses). Its data passes from `temps` to the engine tensor, disposed at the call's end;
   * one engine tensor per data, reshaped for views. Call outside tf.tidy.
   */
  asTensor = (t: TensorInfo): tfjs.Tensor => {
    let e = this.engineOf.get(t.dataId);
    if (!e) {
      const at = this.temps.findIndex((u) => u.dataId === t.dataId);
      if (at < 0) throw new Error('direct step: a tfjs op was given data this call does not own');
      const [owned] = this.temps.splice(at, 1);
      e = this.tf.engine().makeTensorFromTensorInfo(owned, this.backend() as never);
      this.engineTemps.push(e);
      this.engineOf.set(t.dataId, e);
    }
    if (e.shape.join() === t.shape.join()) return e;
    // A view of the first rows (rowsOf) is a slice of the data; any other view is a reshape.
    const n = size(t.shape);
    const reshaped =
      n === e.size
        ? this.tf.reshape(e, t.shape)
        : this.tf.tidy(() => this.tf.reshape(this.tf.slice(this.tf.reshape(e, [-1]), 0, n), t.shape));
    this.engineTemps.push(reshaped);
    return reshaped;
  };

  /** A tfjs op's result, kept to the call's end. */
  fromTensor = (e: tfjs.Tensor): TensorInfo => {
    this.engineTemps.push(e);
    if (!this.engineOf.has(e.dataId)) this.engineOf.set(e.dataId, e);
    return { dataId: e.dataId, shape: e.shape, dtype: 'float32' };
  };

  /**
   * tfjs's gradient of `f` at `xs` (and of the weights it reads) times dy, over this one
   * function: d/dxs (undefined where no path leads) and d/dweights. An input given twice is
   * taken as two tensors (a clone), so each gets its own path's gradient.
   */
  vjpMany = (
    f: (xs: tfjs.Tensor[]) => tfjs.Tensor,
    xs: TensorInfo[],
    weights: tfjs.Variable[],
    dy: TensorInfo,
    withInputs = true,
  ): { dxs: Array<TensorInfo | undefined>; dws: Array<TensorInfo | undefined> } => {
    const xts = xs.map((x) => this.asTensor(x));
    const distinct = xts.map((t, i) => {
      if (xts.indexOf(t) === i) return t;
      const copy = this.tf.clone(t);
      this.engineTemps.push(copy);
      return copy;
    });
    const dyt = this.asTensor(dy);
    // Without `withInputs` only the weights' gradients are taken (nothing upstream needs the inputs').
    const wrt = withInputs ? [...distinct, ...weights] : weights;
    const grads = this.tf.tidy(() => this.tf.engine().gradients(() => f(distinct), wrt, dyt, true).grads);
    const out = grads.map((g) => (g ? this.fromTensor(g) : undefined));
    const k = withInputs ? xs.length : 0;
    return { dxs: withInputs ? out.slice(0, k) : xs.map(() => undefined), dws: out.slice(k) };
  };

  /**
   * `t` leaves the call as an engine tensor in `shape` (a gradient the caller disposes): a
   * backend tensor of this call is handed over; an engine tensor's data is shared by a reshape.
   */
  export = (t: TensorInfo, shape: number[]): tfjs.Tensor => {
    const at = this.temps.findIndex((u) => u.dataId === t.dataId);
    if (at >= 0) {
      this.temps.splice(at, 1);
      return this.tf.engine().makeTensorFromTensorInfo(view(t, shape), this.backend() as never);
    }
    const e = this.engineOf.get(t.dataId);
    if (!e) throw new Error('direct step: a gradient was given data this call does not own');
    return this.tf.reshape(e, shape);
  };

  /** Shards' rows put back together in order: parts[k] holds the rows of the k-th non-empty shard. */
  concatRows = (parts: TensorInfo[]): TensorInfo => {
    if (parts.length === 1) return parts[0];
    const rows = parts.reduce((n, p) => n + p.shape[0], 0);
    const out = this.alloc([rows, ...parts[0].shape.slice(1)]);
    let at = this.ptr(out);
    for (const p of parts) {
      const bytes = 4 * size(p.shape);
      this.backend().wasm.HEAPU8.copyWithin(at, this.ptr(p), this.ptr(p) + bytes);
      at += bytes;
    }
    return out;
  };

  applyTfjs = (f: (x: tfjs.Tensor) => tfjs.Tensor, x: TensorInfo): TensorInfo => {
    const xt = this.asTensor(x);
    return this.fromTensor(this.tf.tidy(() => f(xt)));
  };

  /** A tensor's values in the heap: take it after the call's last allocation (one may grow the heap and detach it). */
  heapF32 = (t: TensorInfo): Float32Array =>
    new Float32Array(this.backend().wasm.HEAPF32.buffer, this.ptr(t), size(t.shape));

  /** Rows [offset, offset + size) of a batch-major tensor: a view when they are the first, else a copy. */
  rowsOf = (t: TensorInfo, s: Shard): TensorInfo => {
    if (s.offset === 0) return s.size === t.shape[0] ? t : view(t, [s.size, ...t.shape.slice(1)]);
    const rowBytes = 4 * size(t.shape.slice(1));
    const out = this.alloc([s.size, ...t.shape.slice(1)]);
    const from = this.ptr(t) + s.offset * rowBytes;
    this.backend().wasm.HEAPU8.copyWithin(this.ptr(out), from, from + s.size * rowBytes);
    return out;
  };
}
