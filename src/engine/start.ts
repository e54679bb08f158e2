/**
 * Engine start: the version check and kernel registration, once per backend activation.
 *
 *   versions as built for -> this project's wasm kernels (kernels/) are registered and the
 *                            direct training step and fused optimizers are on;
 *   any other versions    -> none of that: stock tfjs autograd trains, with the portable
 *                            kernels (portable-kernels.ts) filling what stock wasm lacks or
 *                            gets wrong, written against tfjs's public backend interface only.
 *
 * The status is per thread (each worker thread starts its own engine) and says why, for the log.
 */
import { registerWasmKernels, restoreStockKernels } from './kernels';
import { registerPortableKernels } from './portable-kernels';
import type { TF } from './types';
import { installedVersions, versionMismatch } from './versions';

export interface EngineStatus {
  /** The fast path (our kernels, direct step, fused updates) is on. */
  fast: boolean;
  /** One sentence: what runs and why. */
  reason: string;
  /** Kernel names registered for wasm. */
  kernels: string[];
}

let current: EngineStatus = { fast: false, reason: 'engine not started', kernels: [] };

/** Call after the wasm backend is active (tf.setBackend('wasm') + tf.ready()). */
export function startEngine(tf: TF): EngineStatus {
  const mismatch = versionMismatch(installedVersions(tf));
  if (mismatch) {
    restoreStockKernels(tf);
    const kernels = registerPortableKernels(tf);
    current = { fast: false, reason: `engine off, stock tfjs autograd: ${mismatch}`, kernels };
  } else {
    current = { fast: true, reason: 'engine on: tfjs versions as built for', kernels: registerWasmKernels(tf) };
  }
  return current;
}

/** The last start's status in this thread. */
export function engineStatus(): EngineStatus {
  return current;
}
