/**
 * Identity for the wasm backend (speed, same values).
 *
 * What was slow: the stock kernel copies the tensor (malloc + memcpy). The engine calls it
 * through `clone` for every tensor it saves for backprop, ~36 full copies per LeNet step.
 *
 * Why this is right: tensors are immutable in tfjs (no kernel writes into its inputs;
 * variable.assign swaps the data id), so a clone may share the data: we take a reference on
 * it, exactly as the cpu backend's Identity and the wasm backend's own Reshape do.
 * Strings keep the stock kernel.
 */
import { runStock } from './stock-kernels';
import type { KernelArgs, KernelFunc, TensorInfo, WasmKernel } from './wasm-internals';

interface RefCounting {
  incRef(dataId: object): void;
}

export function makeIdentityKernel(): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ x: TensorInfo }>) => {
    const { x } = args.inputs;
    if (x.dtype === 'string') return runStock('Identity', { x }, args.backend, args.attrs);
    (args.backend as RefCounting).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as KernelFunc;
  return { kernelName: 'Identity', kernelFunc };
}
