/** Backend selection and the wasm kernel fixes; see select.ts and wasm-kernels/. */
export { selectBackend } from './select';
export type { BackendName, BackendRequest, SelectedBackend } from './select';
export { registerWasmKernels, WASM_KERNEL_FIXES } from './wasm-kernels';
export { createAdam } from './adam';
