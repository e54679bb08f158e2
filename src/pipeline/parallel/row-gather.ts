import type * as tfjs from '@tensorflow/tfjs';
import type { RowGather, ShardVector } from '../../engine';
import { SharedViews } from './shared-memory';

/**
 * Batch normalization's mid-step exchange between replicas (engine/row-gather.ts) over the
 * shared buffers: each replica writes its shard's vector into its own slot and raises its
 * gather word to the call's number, waits until every other replica with rows has raised its
 * word that far, and reads every slot in replica order. Every replica thus combines the same
 * vectors in the same order.
 *
 * Numbers: (command seq * 2^11 + call index) modulo 2^32, compared by their int32 difference, so a
 * word left from an earlier step (or from a replica that sat a step out with no rows) is always
 * behind. Slots alternate by the call's parity: a replica can be one call ahead of another (it
 * passed call i once every replica wrote i), never two, and the gradient exchange at the end of
 * each step lets no replica into the next step before every one has read its last gather.
 */

/** Called while waiting for replica j: throws to stop waiting (j failed, or this replica must give up). */
export type WaitCheck = (j: number, waitedMs: number) => void;

const CALL_BITS = 11;
const SLICE_MS = 50;
const SPIN_LOADS = 200_000;

export class SharedRowGather implements RowGather {
  private base = 0;
  private call = 0;

  constructor(
    private readonly views: SharedViews,
    private readonly k: number,
    private readonly check: WaitCheck,
  ) {}

  /** Called at the start of every command, with its seq: numbers this command's gathers. */
  begin(seq: number): void {
    this.base = (seq << CALL_BITS) | 0;
    this.call = 0;
  }

  gather(own: Float32Array): ShardVector[] {
    const { views, k } = this;
    const { geometry, ctrl } = views;
    if (own.length > geometry.gatherFloats)
      throw new Error(`a gathered vector of ${own.length} floats does not fit the ${geometry.gatherFloats} reserved`);
    if (this.call >= 1 << CALL_BITS) throw new Error(`more than ${1 << CALL_BITS} row gathers in one step`);
    const number = (this.base + this.call) | 0;
    const parity = this.call & 1;
    this.call++;
    views.gatherSlot(parity, k).set(own);
    Atomics.store(ctrl, SharedViews.gatherWord(geometry, k), number);
    Atomics.notify(ctrl, SharedViews.gatherWord(geometry, k));
    const sizes = views.shardSizes();
    const out: ShardVector[] = [];
    for (let j = 0; j < geometry.replicas; j++) {
      if (sizes[j] === 0) continue;
      if (j !== k) this.waitFor(j, number);
      out.push({ rows: sizes[j], values: views.gatherSlot(parity, j).slice(0, own.length) });
    }
    return out;
  }

  private waitFor(j: number, number: number): void {
    const { ctrl, geometry } = this.views;
    const word = SharedViews.gatherWord(geometry, j);
    // Spin a while first (up to about a millisecond): the other replica is usually that close, and a
    // thread asleep in Atomics.wait (a halted vCPU on a VM) wakes slowly, dozens of times a step.
    // ResNet-20 on 2 workers: 265-276 samples/s with the spin, 234-273 without (4 runs each, alternated).
    for (let spin = 0; spin < SPIN_LOADS; spin++) if (((Atomics.load(ctrl, word) - number) | 0) >= 0) return;
    const started = performance.now();
    for (;;) {
      const now = Atomics.load(ctrl, word);
      if (((now - number) | 0) >= 0) return;
      this.check(j, performance.now() - started);
      Atomics.wait(ctrl, word, now, SLICE_MS);
    }
  }
}

/** The longest vector a step of this model gathers: batch normalization's [dbeta | dgamma], twice its channels. */
export function gatherFloatsOf(model: tfjs.LayersModel): number {
  const channels = model.layers
    .filter((l) => l.getClassName() === 'BatchNormalization')
    .map((l) => {
      const shape = l.outputShape as number[];
      return shape[shape.length - 1];
    });
  return 2 * Math.max(0, ...channels);
}
