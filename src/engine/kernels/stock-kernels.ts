/**
 * The wasm backend's own kernel functions, captured before we replace any of them, so that
 * our kernels can build on the fast stock ones (e.g. BatchMatMul -> XNNPACK) even when the
 * registry entry under that name is ours. Registration may run many times (idempotent): a
 * kernel function we made is never captured as "stock".
 */
import type { KernelFunc, Tf, TensorInfo } from './wasm-internals';

const ours = new WeakSet<KernelFunc>();
const stock = new Map<string, KernelFunc>();

export function markOurs(kernelFunc: KernelFunc): void {
  ours.add(kernelFunc);
}

export function isOurs(kernelFunc: KernelFunc): boolean {
  return ours.has(kernelFunc);
}

/** Remember the wasm backend's own kernel `name` if it is registered and not one of ours. */
export function captureStock(tf: Tf, name: string): void {
  if (stock.has(name)) return;
  const config = tf.getKernel(name, 'wasm');
  if (config && !ours.has(config.kernelFunc)) stock.set(name, config.kernelFunc);
}

/** The captured stock kernel `name`, if any. */
export function stockKernel(name: string): KernelFunc | undefined {
  return stock.get(name);
}

/** Run the wasm backend's own kernel `name`; the caller owns (must dispose) the result. */
export function runStock(
  name: string,
  inputs: Record<string, TensorInfo>,
  backend: unknown,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const kernelFunc = stock.get(name);
  if (!kernelFunc) throw new Error(`pipeline wasm kernels: stock wasm kernel '${name}' was not captured`);
  const out = kernelFunc({ inputs, backend, attrs } as unknown as Parameters<KernelFunc>[0]);
  if (Array.isArray(out)) throw new Error(`pipeline wasm kernels: '${name}' returned several outputs`);
  return out as TensorInfo;
}
