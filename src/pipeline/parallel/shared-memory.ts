/**
 * The SharedArrayBuffers the main thread (replica 0) and the worker threads (replicas 1..N-1)
 * exchange every step through, and the meaning of each word. Per-step traffic never goes
 * through postMessage: a command is a few words plus the worker's input rows, a gradient
 * exchange is one float32 slot per replica, and every hand-over is an Atomics.store of a
 * sequence number followed by Atomics.notify (the reader Atomics.loads it before reading the
 * data, which orders the plain reads after the writer's plain writes).
 */

import { createSharedMemory, type SharedMemory } from '../../engine';

/** What a command word asks the workers to do. */
export const Command = {
  /** Compute gradients of the own shard, exchange, apply the averaged update. */
  Train: 1,
  /** Inference-mode sums of the own shard. */
  Evaluate: 2,
  /** Take weights (and optimizer state) from the message port, then report ready. */
  SyncState: 3,
  /** Write tf.memory().numTensors into the own report word. */
  CountTensors: 4,
  /** Leave the command loop; the thread ends. */
  Stop: 5,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

/** Word indices of the Int32 control array. */
export const CTRL = {
  /** Incremented by the main thread for every command (the workers wait on it). */
  SEQ: 0,
  COMMAND: 1,
  /** Non-zero: the main thread gave up on the current command (it failed); workers leave their waits. */
  ABORT: 2,
  EPOCH: 3,
  BATCH: 4,
  /** Rows of the whole batch of the current command. */
  ROWS: 5,
  /** First per-replica word: READY[k] = the last command seq replica k finished its part of. */
  READY: 8,
} as const;

export interface Geometry {
  /** Replicas, the main thread included. */
  replicas: number;
  /** Floats per example (h * w * c). */
  sample: number;
  /** Values per sums record (loss then metrics). */
  keys: number;
  /** Rows each worker's input area holds: the largest shard of a training or evaluation batch. */
  inputRows: number;
  /** Element counts of what is exchanged each step: every trainable variable, then every non-trainable one. */
  params: number[];
  /** Floats of the longest vector replicas gather mid-step (batch normalization: twice its channels; 0 without). */
  gatherFloats: number;
}

export interface SharedBuffers {
  control: SharedArrayBuffer;
  /** Float64: [learningRate]. */
  args: SharedArrayBuffer;
  /** Float64 [replicas][keys]: each replica's sums of its shard. */
  sums: SharedArrayBuffer;
  /** Float32 [workers][inputRows * sample] and Uint8 [workers][inputRows]: each worker's rows. */
  inputX: SharedArrayBuffer;
  inputY: SharedArrayBuffer;
  /**
   * Float32, a shared WebAssembly.Memory (the averaging loop runs on it in place):
   * [2 parities][replicas][slotSize] gradients (then non-trainable weights) per replica,
   * then [replicas][slotSize] each replica's average.
   */
  exchange: SharedMemory;
  /** Float32 [2 parities][replicas][gatherFloats]: each replica's vector of a row gather (row-gather.ts). */
  gather: SharedArrayBuffer;
}

/** Typed views over the buffers, the same in every thread. */
export class SharedViews {
  readonly ctrl: Int32Array;
  readonly args: Float64Array;
  readonly sums: Float64Array;
  readonly inputX: Float32Array;
  readonly inputY: Uint8Array;
  /** The whole exchange memory as float32. */
  readonly slots: Float32Array;
  readonly gathered: Float32Array;
  /** Floats per replica slot (the parameters' total, padded to a multiple of 4); offsets[i] = where param i starts inside a slot. */
  readonly slotSize: number;
  readonly offsets: number[];

  constructor(
    readonly geometry: Geometry,
    readonly buffers: SharedBuffers,
  ) {
    this.ctrl = new Int32Array(buffers.control);
    this.args = new Float64Array(buffers.args);
    this.sums = new Float64Array(buffers.sums);
    this.inputX = new Float32Array(buffers.inputX);
    this.inputY = new Uint8Array(buffers.inputY);
    this.slots = new Float32Array(buffers.exchange.buffer);
    this.gathered = new Float32Array(buffers.gather);
    this.offsets = [];
    let at = 0;
    for (const n of geometry.params) {
      this.offsets.push(at);
      at += n;
    }
    this.slotSize = slotSizeOf(geometry);
  }

  /** Control word of the shard size of replica k in the current command. */
  static sizeWord(geometry: Geometry, k: number): number {
    return CTRL.READY + geometry.replicas + k;
  }

  /** Control word where replica k reports a number (tensor count). */
  static reportWord(geometry: Geometry, k: number): number {
    return CTRL.READY + 2 * geometry.replicas + k;
  }

  /** Control word a worker sets (to 1) when it failed; its message is on its port. */
  static errorWord(geometry: Geometry, k: number): number {
    return CTRL.READY + 3 * geometry.replicas + k;
  }

  /** Control word holding the number of the last row gather replica k wrote its vector for. */
  static gatherWord(geometry: Geometry, k: number): number {
    return CTRL.READY + 4 * geometry.replicas + k;
  }

  /** Replica k's vector in row gathers of the given parity. */
  gatherSlot(parity: number, k: number): Float32Array {
    const n = this.geometry.gatherFloats;
    const start = (parity * this.geometry.replicas + k) * n;
    return this.gathered.subarray(start, start + n);
  }

  /** Replica k's gradient slot for a step of the given parity (steps alternate, so a fast replica never overwrites what a slow one still reads). */
  slot(parity: number, k: number): Float32Array {
    const start = this.slotStart(parity, k);
    return this.slots.subarray(start, start + this.slotSize);
  }

  /** Float index of slot (parity, k) in the exchange memory (x 4 for a byte pointer). */
  slotStart(parity: number, k: number): number {
    return (parity * this.geometry.replicas + k) * this.slotSize;
  }

  /** Float index of replica k's average. */
  outputStart(k: number): number {
    return (2 * this.geometry.replicas + k) * this.slotSize;
  }

  sumsOf(k: number): Float64Array {
    return this.sums.subarray(k * this.geometry.keys, (k + 1) * this.geometry.keys);
  }

  /** Worker k's (k >= 1) input rows. */
  inputOf(k: number): { x: Float32Array; y: Uint8Array } {
    const { inputRows, sample } = this.geometry;
    const w = k - 1;
    return {
      x: this.inputX.subarray(w * inputRows * sample, (w + 1) * inputRows * sample),
      y: this.inputY.subarray(w * inputRows, (w + 1) * inputRows),
    };
  }

  shardSizes(): number[] {
    const sizes: number[] = [];
    for (let k = 0; k < this.geometry.replicas; k++) sizes.push(this.ctrl[SharedViews.sizeWord(this.geometry, k)]);
    return sizes;
  }
}

function slotSizeOf(g: Geometry): number {
  const total = g.params.reduce((a, b) => a + b, 0);
  return Math.ceil(total / 4) * 4;
}

export function allocateBuffers(g: Geometry): SharedBuffers {
  const workers = g.replicas - 1;
  return {
    control: new SharedArrayBuffer(4 * (CTRL.READY + 5 * g.replicas)),
    args: new SharedArrayBuffer(8 * 1),
    sums: new SharedArrayBuffer(8 * g.replicas * g.keys),
    inputX: new SharedArrayBuffer(4 * workers * g.inputRows * g.sample),
    inputY: new SharedArrayBuffer(workers * g.inputRows),
    exchange: createSharedMemory(4 * 3 * g.replicas * slotSizeOf(g)),
    gather: new SharedArrayBuffer(4 * 2 * g.replicas * g.gatherFloats),
  };
}
