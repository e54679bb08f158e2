/**
 * A data-parallel replica thread: its own tfjs backend (with this project's wasm kernels),
 * the experiment's model and optimizer built from the same seed as the main thread's, then a
 * command loop driven through shared memory (shared-memory.ts) until the main thread says
 * Stop. Every step it trains on its rows of the batch, exchanges gradients (exchange.ts) and
 * applies the same averaged update as every other replica.
 *
 * Failures: any error is posted on the port and flagged in the error word, which wakes the
 * main thread; an abort from the main thread (its own failure) ends the loop quietly.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend } from '../../backend';
import {
  restoreOptimizerState,
  setLearningRate,
  trainableVariableNames,
  type NamedTensor,
  type StepRunner,
} from '../../engine';
import { assembleTrainee } from '../assemble';
import type { TF } from '../types';
import { Exchange, exchangeSizes, exchangeTargets } from './exchange';
import type { SetupMessage, StateMessage, TensorData, WorkerInit, WorkerMessage } from './protocol';
import { SharedRowGather } from './row-gather';
import { Command, CTRL, SharedViews } from './shared-memory';

class Aborted extends Error {}

interface Replica {
  tf: TF;
  k: number;
  views: SharedViews;
  port: MessagePort;
  model: tfjs.LayersModel;
  optimizer: tfjs.Optimizer;
  steps: StepRunner;
  exchange: Exchange;
  gather: SharedRowGather;
  learningRate: number;
}

function nextMessage<T>(port: MessagePort): Promise<T> {
  return new Promise((resolve) => port.once('message', resolve));
}

function post(port: MessagePort, message: WorkerMessage): void {
  port.postMessage(message);
}

/** A worker's check while it waits mid-step: leave (Aborted) when the main thread aborted or another worker failed. */
function leaveIfAborted(views: SharedViews, k: number): () => void {
  return () => {
    const { ctrl, geometry } = views;
    if (Atomics.load(ctrl, CTRL.ABORT) !== 0) throw new Aborted();
    for (let j = 1; j < geometry.replicas; j++) {
      if (j !== k && Atomics.load(ctrl, SharedViews.errorWord(geometry, j)) !== 0) throw new Aborted();
    }
  };
}

/**
 * Blocks until READY word `index` reached `seq` (>=: a faster replica may already be past it,
 * on the next command); leaves (Aborted) when the main thread aborted or another worker failed.
 */
function waitFor(r: Replica, index: number, seq: number): void {
  const { ctrl } = r.views;
  const leaveIf = leaveIfAborted(r.views, r.k);
  for (;;) {
    const now = Atomics.load(ctrl, index);
    if (now >= seq) return;
    leaveIf();
    Atomics.wait(ctrl, index, now, 250);
  }
}

function publish(r: Replica, seq: number): void {
  Atomics.store(r.views.ctrl, CTRL.READY + r.k, seq);
  Atomics.notify(r.views.ctrl, CTRL.READY + r.k);
}

function ownShard(r: Replica, sizes: number[]): { offset: number; size: number; x: Float32Array; y: Uint8Array } {
  const offset = sizes.slice(0, r.k).reduce((a, b) => a + b, 0);
  const size = sizes[r.k];
  const input = r.views.inputOf(r.k);
  return { offset, size, x: input.x.subarray(0, size * r.views.geometry.sample), y: input.y.subarray(0, size) };
}

function train(r: Replica, seq: number): void {
  const { ctrl } = r.views;
  const epoch = ctrl[CTRL.EPOCH];
  const batchIndex = ctrl[CTRL.BATCH];
  const rate = r.views.args[0];
  if (rate !== r.learningRate) {
    setLearningRate(r.optimizer, rate);
    r.learningRate = rate;
  }
  const sizes = r.views.shardSizes();
  const shard = ownShard(r, sizes);
  const parity = seq & 1;
  r.gather.begin(seq);
  let grads: tfjs.NamedTensorMap | undefined;
  try {
    if (shard.size > 0) {
      const out = r.steps.computeGradients(
        { x: shard.x, y: shard.y, size: shard.size },
        epoch,
        batchIndex,
        shard.offset,
      );
      grads = out.grads;
      r.exchange.writeSlot(r.views.slot(parity, r.k), out.grads);
      r.views.sumsOf(r.k).set(out.sums);
    } else {
      r.views.sumsOf(r.k).fill(0);
    }
    publish(r, seq);
    for (let j = 0; j < r.views.geometry.replicas; j++) if (j !== r.k) waitFor(r, CTRL.READY + j, seq);
    r.exchange.applyAverage(r.steps, parity, sizes);
  } finally {
    if (grads) r.tf.dispose(grads);
  }
}

function evaluate(r: Replica, seq: number): void {
  const shard = ownShard(r, r.views.shardSizes());
  const sums =
    shard.size > 0
      ? r.steps.evaluate({ x: shard.x, y: shard.y, size: shard.size }).sums
      : new Array<number>(r.views.geometry.keys).fill(0);
  r.views.sumsOf(r.k).set(sums);
  publish(r, seq);
}

function tensors(tf: TF, list: TensorData[]): tfjs.Tensor[] {
  return list.map((t) => tf.tensor(t.values, t.shape, t.dtype));
}

async function syncState(r: Replica, seq: number): Promise<void> {
  const received = receiveMessageOnPort(r.port)?.message as StateMessage | undefined;
  if (received?.type !== 'state') throw new Error('SyncState without a state message on the port');
  const weights = tensors(r.tf, received.weights);
  try {
    r.model.setWeights(weights);
  } finally {
    r.tf.dispose(weights);
  }
  if (received.optimizer) {
    const named: NamedTensor[] = received.optimizer.map((t) => ({
      name: t.name,
      tensor: r.tf.tensor(t.values, t.shape, t.dtype),
    }));
    try {
      await restoreOptimizerState(r.tf, r.optimizer, named, trainableVariableNames(r.model));
    } finally {
      r.tf.dispose(named.map((t) => t.tensor));
    }
  }
  publish(r, seq);
}

async function commandLoop(r: Replica): Promise<void> {
  const { ctrl, geometry } = r.views;
  let seen = 0;
  for (;;) {
    for (;;) {
      const now = Atomics.load(ctrl, CTRL.SEQ);
      if (now !== seen) {
        seen = now;
        break;
      }
      if (Atomics.load(ctrl, CTRL.ABORT) !== 0) return;
      Atomics.wait(ctrl, CTRL.SEQ, now, 1000);
    }
    const command = Atomics.load(ctrl, CTRL.COMMAND);
    switch (command) {
      case Command.Train:
        train(r, seen);
        break;
      case Command.Evaluate:
        evaluate(r, seen);
        break;
      case Command.SyncState:
        await syncState(r, seen);
        break;
      case Command.CountTensors:
        ctrl[SharedViews.reportWord(geometry, r.k)] = r.tf.memory().numTensors;
        publish(r, seen);
        break;
      case Command.Stop:
        return;
      default:
        throw new Error(`unknown command ${command}`);
    }
  }
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = init.port;
  let views: SharedViews | undefined;
  let model: tfjs.LayersModel | undefined;
  let optimizer: tfjs.Optimizer | undefined;
  let exchange: Exchange | undefined;
  try {
    const { tf } = await selectBackend(init.backend);
    const setup = await nextMessage<SetupMessage>(port);
    views = new SharedViews(setup.geometry, setup.buffers);
    const e = setup.experiment;
    const trainee = assembleTrainee({ tf, experiment: e, inputShape: setup.inputShape, numClasses: setup.numClasses });
    ({ model, optimizer } = trainee);
    const steps = trainee.steps;
    const params = exchangeSizes(model);
    if (params.join() !== setup.geometry.params.join()) {
      throw new Error(
        `the model built in the worker has parameters [${params.join(', ')}], the main thread's [${setup.geometry.params.join(', ')}]`,
      );
    }
    const gather = new SharedRowGather(views, init.replica, leaveIfAborted(views, init.replica));
    steps.setGradientShards?.(1, gather);
    const replica: Replica = {
      tf,
      k: init.replica,
      views,
      port,
      model,
      optimizer,
      steps,
      exchange: (exchange = new Exchange(tf, views, exchangeTargets(model), init.replica)),
      gather,
      learningRate: e.training.optimizer.learningRate,
    };
    post(port, { type: 'ready', params });
    await commandLoop(replica);
  } catch (err) {
    if (!(err instanceof Aborted)) {
      post(port, { type: 'error', message: err instanceof Error ? err.message : String(err) });
      if (views) {
        Atomics.store(views.ctrl, SharedViews.errorWord(views.geometry, init.replica), 1);
        // Wake whoever waits on this replica (the main thread at a barrier or for a result).
        Atomics.notify(views.ctrl, CTRL.READY + init.replica);
      }
    }
  } finally {
    exchange?.disposeKept();
    optimizer?.dispose();
    model?.dispose();
    port.close();
  }
}

void main();
