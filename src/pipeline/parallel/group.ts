import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type * as tfjs from '@tensorflow/tfjs';
import type { BackendName } from '../../backend';
import type { ResolvedExperiment } from '../../config/load';
import { RunError } from '../../errors';
import { captureOptimizerState, shardRows, type StepRunner } from '../../engine';
import type { Batch, TF } from '../types';
import { Exchange, exchangeSizes, exchangeTargets } from './exchange';
import { gradientShardsFor } from './plan';
import { gatherFloatsOf, SharedRowGather } from './row-gather';
import type { SetupMessage, StateMessage, TensorData, WorkerInit, WorkerMessage } from './protocol';
import { allocateBuffers, Command, CTRL, SharedViews, type Geometry } from './shared-memory';

/**
 * The main thread's side of data-parallel training: it is replica 0 (it trains the first
 * shard of every batch on its own model, the one the callbacks checkpoint and save) and
 * drives replicas 1..N-1, each a worker thread (worker.ts) with its own backend and model.
 *
 * A step: copy each worker's rows into its input area, post the command, compute the own
 * shard meanwhile, then exchange and apply (exchange.ts) like every worker does. Waiting is
 * Atomics.wait in short slices; between slices the event loop runs, so a worker that died
 * without a word (its 'exit' or 'error' event) is noticed, and every failure becomes a
 * RunError naming the worker instead of a hang.
 */

const WORKER_SCRIPT = path.join(__dirname, 'worker.js');
/** A wait slice: short enough to notice a dead worker quickly, long enough to cost nothing when all is well. */
const SLICE_MS = 50;
/** The longest the main thread waits for a worker in the middle of a step (a thread that ended cannot say so then). */
const MID_STEP_WAIT_MS = 120_000;
/** How long close() lets workers leave their loop before terminating them. */
const CLOSE_GRACE_MS = 2000;

export interface SpawnOptions {
  /** Replicas including the main thread (so replicas - 1 threads). */
  replicas: number;
  backend: BackendName;
  /** Tests: another worker entry (a file path, or code with eval). */
  script?: { file: string } | { code: string };
}

interface Handle {
  worker: Worker;
  port: MessagePort;
  /** Set when the thread ended or failed before saying why through its port. */
  gone?: string;
  error?: string;
  ready?: (params: number[]) => void;
}

/** Worker threads that are loading their backend; `start` turns them into a group. */
export class SpawnedWorkers {
  readonly handles: Handle[];

  constructor(readonly o: SpawnOptions) {
    this.handles = [];
    for (let k = 1; k < o.replicas; k++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = { replica: k, backend: o.backend, port: port2 };
      const script = o.script ?? { file: WORKER_SCRIPT };
      const worker =
        'code' in script
          ? new Worker(script.code, { eval: true, workerData: init, transferList: [port2] })
          : new Worker(script.file, { workerData: init, transferList: [port2] });
      const handle: Handle = { worker, port: port1 };
      port1.on('message', (m: WorkerMessage) => {
        if (m.type === 'error') handle.error ??= m.message;
        else if (m.type === 'ready') handle.ready?.(m.params);
      });
      worker.on('error', (err) => (handle.gone ??= `it crashed: ${err.message}`));
      worker.on('exit', (code) => (handle.gone ??= `its thread exited (code ${code})`));
      this.handles.push(handle);
    }
  }

  /** Ends the threads (for a group that is not needed after all, or on close). */
  async terminate(): Promise<void> {
    await Promise.all(
      this.handles.map(async (h) => {
        h.port.close();
        if (h.gone === undefined) await h.worker.terminate();
      }),
    );
  }
}

export interface GroupOptions {
  tf: TF;
  experiment: ResolvedExperiment;
  model: tfjs.LayersModel;
  optimizer: tfjs.Optimizer;
  /** The main thread's step runner (replica 0). */
  steps: StepRunner;
  numClasses: number;
  inputShape: [number, number, number];
  /** Called once per command while the workers still compute: work to overlap (the next batch, see prefetch.ts). */
  idle?: () => void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class ReplicaGroup {
  private seq = 0;
  private closed = false;
  /** The main thread's way to the workers' rows mid-step (batch normalization), set on its step runner. */
  readonly rowGather: SharedRowGather;
  private readonly exchange: Exchange;
  private readonly sample: number;

  private constructor(
    private readonly spawned: SpawnedWorkers,
    private readonly views: SharedViews,
    private readonly o: GroupOptions,
  ) {
    this.exchange = new Exchange(o.tf, views, exchangeTargets(o.model), 0);
    this.sample = o.inputShape[0] * o.inputShape[1] * o.inputShape[2];
    this.rowGather = new SharedRowGather(views, 0, (j, waitedMs) => this.checkWorker(j, waitedMs));
    o.steps.setGradientShards?.(gradientShardsFor(views.geometry.replicas), this.rowGather);
  }

  get replicas(): number {
    return this.views.geometry.replicas;
  }

  /** Same as the main step runner's: 'loss' then the metrics. */
  get keys(): string[] {
    return this.o.steps.keys;
  }

  /** Sends the model to build to every spawned worker and waits until all are ready. */
  static async start(spawned: SpawnedWorkers, o: GroupOptions): Promise<ReplicaGroup> {
    const e = o.experiment;
    const replicas = spawned.o.replicas;
    const geometry: Geometry = {
      replicas,
      sample: o.inputShape[0] * o.inputShape[1] * o.inputShape[2],
      keys: o.steps.keys.length,
      inputRows: Math.ceil(Math.max(e.training.batchSize, e.training.evalBatchSize) / replicas),
      params: exchangeSizes(o.model),
      gatherFloats: gatherFloatsOf(o.model),
    };
    const buffers = allocateBuffers(geometry);
    const group = new ReplicaGroup(spawned, new SharedViews(geometry, buffers), o);
    const setup: SetupMessage = {
      type: 'setup',
      experiment: e,
      inputShape: o.inputShape,
      numClasses: o.numClasses,
      geometry,
      buffers,
    };
    try {
      await Promise.all(
        spawned.handles.map(
          (h, i) =>
            new Promise<void>((resolve, reject) => {
              const k = i + 1;
              const timer = setInterval(() => {
                const why = h.error ?? h.gone;
                if (why !== undefined) {
                  clearInterval(timer);
                  reject(group.failure(k, why));
                }
              }, 20);
              h.ready = () => {
                clearInterval(timer);
                resolve();
              };
              h.port.postMessage(setup);
            }),
        ),
      );
    } catch (err) {
      await group.close();
      throw err;
    }
    return group;
  }

  /**
   * Copies the main model's weights to every worker and, with `withOptimizer` (a resumed
   * run), the optimizer state too, so every replica continues from the same state.
   */
  async syncState(withOptimizer: boolean): Promise<void> {
    const { tf, model, optimizer } = this.o;
    const weights: TensorData[] = model
      .getWeights()
      .map((w, i) => ({ name: String(i), dtype: 'float32', shape: w.shape, values: w.dataSync() as Float32Array }));
    let opt: TensorData[] | null = null;
    if (withOptimizer) {
      const state = await captureOptimizerState(tf, optimizer);
      opt = state.tensors.map((t) => ({
        name: t.name,
        dtype: t.tensor.dtype as 'float32' | 'int32',
        shape: t.tensor.shape,
        values: t.tensor.dataSync() as Float32Array | Int32Array,
      }));
      tf.dispose(state.tensors.map((t) => t.tensor));
    }
    const message: StateMessage = { type: 'state', weights, optimizer: opt };
    for (const h of this.spawned.handles) h.port.postMessage(message);
    await this.waitWorkers(this.issue(Command.SyncState, 0, 0, 0));
  }

  /** One data-parallel training step of the whole batch; returns the batch's sums, like StepRunner.train. */
  async train(batch: Batch, epoch: number, batchIndex: number): Promise<number[]> {
    const shards = shardRows(batch.size, this.replicas);
    this.copyInputs(batch, shards);
    this.views.args[0] = (this.o.optimizer as unknown as { learningRate: number }).learningRate;
    const seq = this.issue(
      Command.Train,
      epoch,
      batchIndex,
      batch.size,
      shards.map((s) => s.size),
    );
    this.rowGather.begin(seq);
    const parity = seq & 1;
    let grads: tfjs.NamedTensorMap | undefined;
    try {
      const own = shards[0];
      const out = this.o.steps.computeGradients(
        { x: batch.x.subarray(0, own.size * this.sample), y: batch.y.subarray(0, own.size), size: own.size },
        epoch,
        batchIndex,
        0,
      );
      grads = out.grads;
      this.exchange.writeSlot(this.views.slot(parity, 0), out.grads);
      this.views.sumsOf(0).set(out.sums);
      Atomics.store(this.views.ctrl, CTRL.READY, seq);
      Atomics.notify(this.views.ctrl, CTRL.READY);
      this.o.idle?.();
      await this.waitWorkers(seq);
      this.exchange.applyAverage(
        this.o.steps,
        parity,
        shards.map((s) => s.size),
      );
    } catch (err) {
      this.abort();
      throw err;
    } finally {
      if (grads) this.o.tf.dispose(grads);
    }
    return this.totalSums();
  }

  /** Inference-mode sums of the whole batch, each replica taking its shard. */
  async evaluate(batch: Batch): Promise<{ sums: number[] }> {
    const shards = shardRows(batch.size, this.replicas);
    this.copyInputs(batch, shards);
    const seq = this.issue(
      Command.Evaluate,
      0,
      0,
      batch.size,
      shards.map((s) => s.size),
    );
    try {
      const own = shards[0];
      const out = this.o.steps.evaluate({
        x: batch.x.subarray(0, own.size * this.sample),
        y: batch.y.subarray(0, own.size),
        size: own.size,
      });
      this.views.sumsOf(0).set(out.sums);
      this.o.idle?.();
      await this.waitWorkers(seq);
    } catch (err) {
      this.abort();
      throw err;
    }
    return { sums: this.totalSums() };
  }

  /** tf.memory().numTensors in each worker (tests: nothing accumulates). */
  async workerTensorCounts(): Promise<number[]> {
    await this.waitWorkers(this.issue(Command.CountTensors, 0, 0, 0));
    return this.spawned.handles.map((_, i) => this.views.ctrl[SharedViews.reportWord(this.views.geometry, i + 1)]);
  }

  /** Stops the workers and waits for their threads to end (terminating any that do not within a grace period). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.exchange.disposeKept();
    const { ctrl } = this.views;
    Atomics.store(ctrl, CTRL.ABORT, 1);
    this.issue(Command.Stop, 0, 0, 0);
    for (let k = 0; k < this.replicas; k++) Atomics.notify(ctrl, CTRL.READY + k);
    await Promise.all(
      this.spawned.handles.map(
        (h) =>
          new Promise<void>((resolve) => {
            if (h.gone !== undefined) return resolve();
            const timer = setTimeout(() => void h.worker.terminate(), CLOSE_GRACE_MS);
            h.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    for (const h of this.spawned.handles) h.port.close();
  }

  private issue(command: Command, epoch: number, batchIndex: number, rows: number, sizes: number[] = []): number {
    const { ctrl, geometry } = this.views;
    ctrl[CTRL.COMMAND] = command;
    ctrl[CTRL.EPOCH] = epoch;
    ctrl[CTRL.BATCH] = batchIndex;
    ctrl[CTRL.ROWS] = rows;
    for (let k = 0; k < geometry.replicas; k++) ctrl[SharedViews.sizeWord(geometry, k)] = sizes[k] ?? 0;
    // Sequence numbers only grow (READY words are compared with >=); 2^31 commands is years of steps.
    if (this.seq === 0x7fffffff) throw new RunError('data-parallel training ran out of command sequence numbers');
    this.seq++;
    Atomics.store(ctrl, CTRL.SEQ, this.seq);
    Atomics.notify(ctrl, CTRL.SEQ);
    return this.seq;
  }

  private copyInputs(batch: Batch, shards: Array<{ offset: number; size: number }>): void {
    for (let k = 1; k < shards.length; k++) {
      const { offset, size } = shards[k];
      const input = this.views.inputOf(k);
      input.x.set(batch.x.subarray(offset * this.sample, (offset + size) * this.sample));
      input.y.set(batch.y.subarray(offset, offset + size));
    }
  }

  private totalSums(): number[] {
    const total = new Array<number>(this.views.geometry.keys).fill(0);
    for (let k = 0; k < this.replicas; k++) this.views.sumsOf(k).forEach((v, i) => (total[i] += v));
    return total;
  }

  /** Waits until every worker finished command `seq`, or throws a RunError naming the first that failed. */
  private async waitWorkers(seq: number): Promise<void> {
    const { ctrl, geometry } = this.views;
    for (let k = 1; k < geometry.replicas; k++) {
      const h = this.spawned.handles[k - 1];
      for (;;) {
        const now = Atomics.load(ctrl, CTRL.READY + k);
        if (now >= seq) break;
        this.checkWorker(k, 0);
        if (h.gone !== undefined) throw this.failure(k, h.error ?? h.gone);
        if (Atomics.wait(ctrl, CTRL.READY + k, now, SLICE_MS) === 'timed-out') await yieldToEventLoop();
      }
    }
  }

  /**
   * Throws a RunError if worker k reported an error, or (`waitedMs`: a synchronous wait mid-step,
   * where the event loop cannot tell of a thread that ended) has kept the main thread waiting
   * longer than any step part takes.
   */
  private checkWorker(k: number, waitedMs: number): void {
    const h = this.spawned.handles[k - 1];
    if (Atomics.load(this.views.ctrl, SharedViews.errorWord(this.views.geometry, k)) !== 0) {
      // The worker posted its error before raising the flag; take it from the port if the event loop has not delivered it yet.
      const queued = receiveMessageOnPort(h.port)?.message as WorkerMessage | undefined;
      if (queued?.type === 'error') h.error ??= queued.message;
      throw this.failure(k, h.error ?? 'it reported an error');
    }
    if (waitedMs > MID_STEP_WAIT_MS)
      throw this.failure(k, `it did not reach batch normalization's statistics within ${MID_STEP_WAIT_MS / 1000} s`);
  }

  private failure(k: number, why: string): RunError {
    this.abort();
    return new RunError(`data-parallel worker ${k} of ${this.replicas - 1} failed: ${why}`);
  }

  /** Tells every worker to leave whatever it waits for (the main thread failed or gave up). */
  private abort(): void {
    const { ctrl } = this.views;
    Atomics.store(ctrl, CTRL.ABORT, 1);
    Atomics.notify(ctrl, CTRL.SEQ);
    for (let k = 0; k < this.replicas; k++) Atomics.notify(ctrl, CTRL.READY + k);
  }
}
