/**
 * The gradient average (kernels/assembly/average.ts) instantiated on the shared exchange
 * memory: a shared WebAssembly.Memory, so the loop reads every replica's slot in place (no
 * copy, and none of the slowness of JS reads from a SharedArrayBuffer, ~3x plain ones in V8).
 * n must be even: slots are padded to a multiple of 4 floats. The module is compiled at build
 * time (`npm run build:kernels`, target `shared`) into dist/, next to kernels/heap-loops.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PAGE_BYTES = 65536;

/** The slice of the WebAssembly JS API used here (this project's TS lib config does not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** A shared WebAssembly.Memory: its buffer is a SharedArrayBuffer, and it can be posted to workers. */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
}

const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function createSharedMemory(bytes: number): SharedMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
  return new WA.Memory({ initial: pages, maximum: pages, shared: true });
}

export type AverageTwo = (out: number, a: number, b: number, n: number, wa: number, wb: number) => void;

let compiled: object | undefined;

/** The loop, instantiated on `memory` (from createSharedMemory). */
export function averageTwoOn(memory: SharedMemory): AverageTwo {
  // The import declares the largest shared memory there is (65536 pages): any actual maximum is within it, so one compiled module serves every size.
  compiled ??= new WA.Module(fs.readFileSync(path.join(__dirname, 'kernels', 'shared-average.wasm')));
  const instance = new WA.Instance(compiled, { env: { memory } });
  return instance.exports.averageTwo as AverageTwo;
}
