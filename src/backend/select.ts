/**
 * Picks the tfjs backend a run trains on.
 *
 *   auto       -> `tensorflow` (native, @tensorflow/tfjs-node) when it loads, else `wasm`, else `cpu`
 *   tensorflow -> @tensorflow/tfjs-node or UsageError
 *   wasm       -> @tensorflow/tfjs-backend-wasm or UsageError; the engine starts (src/engine: version
 *                 check, then its kernels, or stock tfjs where the versions differ)
 *   cpu        -> the pure-JS backend bundled with @tensorflow/tfjs (always there)
 *
 * @tensorflow/tfjs-node is an optional dependency with a native addon: it is only ever
 * required dynamically, inside try/catch, so a machine without it still runs.
 *
 * The wasm backend needs no setWasmPaths under Node: its Emscripten loader resolves the
 * .wasm binaries next to its own JS inside node_modules (via __dirname), whatever the cwd.
 * (tested from another cwd in test/backend/select.test.ts).
 */
import * as tfjs from '@tensorflow/tfjs';
import { UsageError } from '../errors';
import { startEngine } from '../engine';

export type BackendRequest = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type Tf = typeof import('@tensorflow/tfjs');

export interface SelectedBackend {
  name: BackendName;
  /** One sentence for logs and run metadata: why this backend. */
  reason: string;
  /** The tf namespace to build models with (tfjs-node's when native). */
  tf: Tf;
}

const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** Loaded module, or the reason it could not be loaded. */
type Loaded<T> = { ok: true; value: T } | { ok: false; why: string };

function loadOptional<T>(moduleName: string): Loaded<T> {
  try {
    // A variable, so neither tsc nor a bundler tries to resolve the optional module statically.
    const name = moduleName;
    return { ok: true, value: require(name) as T };
  } catch (err) {
    // Only "this very module is missing" means not installed; a missing dependency of it
    // (e.g. tfjs-node without its native addon) is a load failure worth showing.
    const code = (err as { code?: string }).code;
    const missing = code === 'MODULE_NOT_FOUND' && firstLine(err).includes(`'${moduleName}'`);
    const why = missing ? 'not installed' : `failed to load (${firstLine(err)})`;
    return { ok: false, why };
  }
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

async function activate(tf: Tf, name: BackendName): Promise<string | null> {
  // PROD only silences tfjs's console.warn/log (e.g. the cpu backend's "install tfjs-node" banner on stderr);
  // pipeline reports the backend and why it was chosen itself.
  tf.env().set('PROD', true);
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `backend '${name}' failed to initialize`;
    await tf.ready();
    return null;
  } catch (err) {
    return `backend '${name}' failed to initialize (${firstLine(err)})`;
  }
}

async function tryTensorflow(): Promise<{ tf: Tf } | { why: string }> {
  const loaded = loadOptional<Tf>('@tensorflow/tfjs-node');
  if (!loaded.ok) return { why: `@tensorflow/tfjs-node ${loaded.why}` };
  const failed = await activate(loaded.value, 'tensorflow');
  return failed ? { why: failed } : { tf: loaded.value };
}

async function tryWasm(): Promise<{ tf: Tf } | { why: string }> {
  const loaded = loadOptional<unknown>('@tensorflow/tfjs-backend-wasm');
  if (!loaded.ok) return { why: `@tensorflow/tfjs-backend-wasm ${loaded.why}` };
  const failed = await activate(tfjs, 'wasm');
  if (failed) return { why: failed };
  // Its status (and, when off, why) is reported with the training step (src/engine/step-runner.ts).
  startEngine(tfjs);
  return { tf: tfjs };
}

export async function selectBackend(requested: BackendRequest): Promise<SelectedBackend> {
  if (!BACKEND_REQUESTS.includes(requested)) {
    throw new UsageError(`unknown backend '${String(requested)}': expected one of ${BACKEND_REQUESTS.join(', ')}`);
  }
  if (requested === 'tensorflow') {
    const r = await tryTensorflow();
    if ('why' in r)
      throw new UsageError(
        `backend 'tensorflow' requested but ${r.why}; install it (npm install @tensorflow/tfjs-node) or request 'wasm' or 'cpu'`,
      );
    return { name: 'tensorflow', reason: 'requested tensorflow (native @tensorflow/tfjs-node)', tf: r.tf };
  }
  if (requested === 'wasm') {
    const r = await tryWasm();
    if ('why' in r) throw new UsageError(`backend 'wasm' requested but ${r.why}; request 'cpu' instead`);
    return { name: 'wasm', reason: 'requested wasm', tf: r.tf };
  }
  if (requested === 'cpu') {
    const failed = await activate(tfjs, 'cpu');
    if (failed) throw new UsageError(`backend 'cpu' requested but ${failed}`);
    return { name: 'cpu', reason: 'requested cpu', tf: tfjs };
  }
  // auto
  const native = await tryTensorflow();
  if ('tf' in native)
    return { name: 'tensorflow', reason: 'auto: @tensorflow/tfjs-node loaded; using native tensorflow', tf: native.tf };
  const wasm = await tryWasm();
  if ('tf' in wasm) return { name: 'wasm', reason: `auto: ${native.why}; using wasm`, tf: wasm.tf };
  const failed = await activate(tfjs, 'cpu');
  if (failed) throw new UsageError(`no usable backend: ${native.why}; ${wasm.why}; ${failed}`);
  return { name: 'cpu', reason: `auto: ${native.why}; ${wasm.why}; using cpu`, tf: tfjs };
}
