/**
 * The direct step's activation loops (src/engine/kernels/assembly/activation-kinds.ts): each
 * activation's forward and gradient loop on one tensor (default classic LeNet's first layer,
 * [32,28,28,6]), best of --reps calls, wall ms, and a hash of each output. With --against
 * OTHER/heap.wasm, another build's module is instantiated on the same tfjs heap and called
 * alternately with this one on the same data, so two builds compare call for call under the same
 * load, bits included. CPU time would not resolve a 0.3 ms call; the best of many calls does.
 * Usage: node dist/bench/activation-loops.js [--reps 300] [--shape 32,28,28,6] [--against FILE]
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/backend';
import { ACTIVATION_LOOPS } from '../src/engine/direct/activations';
import { CallScope } from '../src/engine/direct/call-scope';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const reps = Number(opt('--reps') ?? 300);
const shape = (opt('--shape') ?? '32,28,28,6').split(',').map(Number);
const against = opt('--against');
const LOOPS = ACTIVATION_LOOPS;

type Loops = Record<string, (...a: number[]) => void>;
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Loops };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Best wall ms over `reps` calls of each module's `f`, called alternately. */
function best(modules: Loops[], f: string, call: (l: Loops) => void): number[] {
  const ms = modules.map(() => Infinity);
  for (let r = 0; r < reps; r++) {
    modules.forEach((l, k) => {
      const t = process.hrtime.bigint();
      call(l);
      ms[k] = Math.min(ms[k], Number(process.hrtime.bigint() - t) / 1e6);
    });
  }
  if (ms.some((m) => !Number.isFinite(m))) throw new Error(`${f}: not timed`);
  return ms;
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const scope = new CallScope(tf);
  const n = shape.reduce((a, b) => a * b, 1);
  let seed = 7;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 6 - 3;
  const [x, dy] = [
    scope.write(Float32Array.from({ length: n }, random), shape),
    scope.write(Float32Array.from({ length: n }, random), shape),
  ];
  const [y, dx] = [scope.alloc(shape), scope.alloc(shape)];
  const memory = scope.backend().wasm.asm.memory;
  const modules = [scope.loops() as unknown as Loops];
  if (against) modules.push(new WA.Instance(new WA.Module(fs.readFileSync(against)), { env: { memory } }).exports);
  const hash = () =>
    createHash('md5')
      .update(Buffer.from(scope.heapF32(y).slice().buffer))
      .digest('hex')
      .slice(0, 8);
  const p = scope.ptr;
  const names = against ? ['this build', against] : ['this build'];
  process.stdout.write(`activation loops on [${shape}] (${n} values), best of ${reps}; ${names.join(' | ')}\n`);
  for (const a of LOOPS) {
    const fwd = best(modules, `${a}Forward`, (l) => l[`${a}Forward`](p(x), p(y), n));
    const bits = modules.map((l) => (l[`${a}Forward`](p(x), p(y), n), hash()));
    const grad = best(modules, `${a}Grad`, (l) => l[`${a}Grad`](p(dy), p(x), p(y), p(dx), n));
    const cols = modules.map(
      (_, k) => `forward ${fwd[k].toFixed(3)} ms, gradient ${grad[k].toFixed(3)} ms, ${bits[k]}`,
    );
    process.stdout.write(`${a.padEnd(12)} ${cols.join(' | ')}\n`);
  }
  scope.free();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
