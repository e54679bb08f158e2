/** Backend selection; the wasm backend's kernels and training engine are src/engine's. */
export { selectBackend } from './select';
export type { BackendName, BackendRequest, SelectedBackend } from './select';
