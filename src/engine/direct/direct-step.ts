import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { ResolvedExperiment } from '../../config/load';
import type { Batch, TF } from '../types';
import { shardRows } from '../shards';
import type { BatchRows, RowGather } from '../row-gather';
import { CallScope, size } from './call-scope';
import { backwardOp } from './backward';
import type { StepPosition } from './dropout-mask';
import { forwardOp, type NodeRecord, type Training } from './forward';
import { INPUT, planDirectStep, type PlanNode } from './plan';
import { lossAndMetrics } from './loss-and-metrics';
import { weightGrads } from './weight-grads';
import { penaltyTerms } from './penalties';

export type { StepPosition } from './dropout-mask';

/**
 * A training step run as direct calls of the wasm backend's registered kernels, for every
 * model plan.ts takes (stacks and graphs): the forward pass node by node as fused kernels
 * (convolution + bias + relu, matmul + bias + relu) or tfjs's own layer, the backward pass
 * written out node by node from the output back (forward.ts, backward.ts), gradients of a
 * tensor read by several nodes added up, the loss, its gradient and the metric sums in one JS
 * loop (loss-and-metrics.ts).
 *
 * Why: on a small model most of a tfjs step is not arithmetic but per-op bookkeeping (~150
 * kernel calls, each through the engine, the gradient tape and its saved-tensor clones, ~9 us
 * apiece): this step makes far fewer calls without the engine. Same mathematics as tfjs's
 * gradients (the tests compare both on random batches), different float rounding.
 *
 * Memory: every intermediate is a backend tensor freed at the end of the call; the gradients
 * are handed over as engine tensors (the caller disposes them), like step-runner.ts's.
 *
 * `gradientShards`: the batch's gradient is computed as the data-parallel exchange computes
 * it from that many replicas: each shard's loss gradient scaled by its own size, each weight
 * gradient reduced over each shard's rows separately (the same kernel calls a replica makes
 * on its shard), then the shards' weighted average (weight-grads.ts). Float sums depend on
 * their order, and Adam's tiny epsilon turns last-bit differences in near-zero gradients into
 * full-size steps, so without this one worker and two drift apart within an epoch (1.8e-3 in
 * the first epoch's loss on CIFAR-10); with it they give the same bits. The forward pass and
 * the input gradients are per row, so they run on the whole batch either way, except batch
 * normalization's, whose sums are taken per shard and combined over every shard of the batch,
 * the other replicas' through a row gather (batch-norm.ts).
 */

export interface DirectStep {
  computeGradients(batch: Batch, at: StepPosition): { grads: tfjs.NamedTensorMap; sums: number[] };
  evaluate(batch: Batch, predictions: boolean): { sums: number[]; predicted?: Int32Array };
  /** The inference-mode forward pass alone: the model's outputs, batch.size * numClasses values (labels unused). */
  outputs(batch: Batch): Float32Array;
  /**
   * From the next call on, reduce in this many shards (a run switching between 1 and 2
   * replicas: pipeline/parallel/adaptive.ts); `gather`: this replica is one of several, and
   * batch normalization reaches the other shards through it (then `shards` is 1).
   */
  setGradientShards(shards: number, gather?: RowGather): void;
}

export interface DirectStepOptions {
  tf: TF;
  model: tfjs.LayersModel;
  experiment: ResolvedExperiment;
  inputShape: readonly [number, number, number];
  numClasses: number;
  /** Reduce each batch's gradient in this many shards, as that many replicas would (default 1). */
  gradientShards?: number;
}

/** The forward pass over the nodes in order; `training` (a step's position, and the batch's split) turns dropout and batch statistics on. */
function forward(tf: TF, scope: CallScope, nodes: PlanNode[], x: TensorInfo, training?: Training): NodeRecord[] {
  const records: NodeRecord[] = [];
  for (const node of nodes) {
    const xs = node.inputs.map((i) => (i === INPUT ? x : records[i].y));
    records.push(forwardOp(tf, scope, node.op, xs, training));
  }
  return records;
}

/**
 * Fills `grads` (variable name -> gradient of the batch's mean loss), from the output back:
 * each node's output gradient is the sum of what the nodes reading it sent back.
 */
function backward(
  tf: TF,
  scope: CallScope,
  plan: { nodes: PlanNode[]; output: number },
  records: NodeRecord[],
  dOutput: TensorInfo,
  grads: tfjs.NamedTensorMap,
  rows: BatchRows,
  penaltyGrads: Map<tfjs.LayerVariable, TensorInfo>,
): void {
  const c = { tf, scope, w: weightGrads(scope, grads, rows.shards, penaltyGrads), rows };
  const pending = new Map<number, TensorInfo>([[plan.output, dOutput]]);
  for (let i = plan.nodes.length - 1; i >= 0; i--) {
    const dy = pending.get(i);
    if (!dy) continue;
    pending.delete(i);
    const node = plan.nodes[i];
    const dxs = backwardOp(c, node, records[i], dy);
    node.inputs.forEach((from, k) => {
      const dx = dxs[k];
      if (!dx || from === INPUT) return;
      const sum = pending.get(from);
      pending.set(from, sum ? scope.run('Add', { a: sum, b: dx }, {}) : dx);
    });
  }
}

export function createDirectStep(o: DirectStepOptions): DirectStep | { unsupported: string } {
  const { tf } = o;
  const plan = planDirectStep(tf, o.model, o.experiment);
  if ('unsupported' in plan) return plan;
  const jsLoss = o.experiment.training.loss === 'softmaxCrossEntropy';
  const [h, w, c] = o.inputShape;
  // How each batch is split: shards reduced here, and the way to other replicas' rows (row-gather.ts).
  let split: { shards: number; gather?: RowGather } = { shards: o.gradientShards ?? 1 };
  const scope = new CallScope(tf);
  const { alloc, heapF32, free } = scope;
  const input = (batch: Batch): TensorInfo => {
    const shape = [batch.size, h, w, c];
    return scope.write(batch.x.subarray(0, size(shape)), shape);
  };
  const logitsOf = (records: NodeRecord[]) => records[plan.output].y;
  const { otherSums, sumsOf, lossOverShards, tfjsLossOverShards } = lossAndMetrics({
    tf,
    experiment: o.experiment,
    numClasses: o.numClasses,
    scope,
  });

  return {
    computeGradients(batch, at) {
      try {
        const shards = shardRows(batch.size, split.shards);
        const rows: BatchRows = { shards, gather: split.gather };
        const records = forward(tf, scope, plan.nodes, input(batch), { at, rows });
        const logits = logitsOf(records);
        const other = otherSums(heapF32(logits), batch.y, shards);
        const penalty = penaltyTerms(tf, scope, plan.penalties);
        let r: { loss: number; correct: number; dLogits?: TensorInfo };
        if (jsLoss) {
          const dLogits = alloc(logits.shape);
          // Views after the last allocation (an allocation may grow the heap and detach them).
          r = {
            ...lossOverShards(heapF32(logits), batch.y, shards, heapF32(dLogits), undefined, penalty.value),
            dLogits,
          };
        } else {
          r = tfjsLossOverShards(logits, batch.y, shards, true, undefined, penalty.value);
        }
        const grads: tfjs.NamedTensorMap = {};
        try {
          backward(tf, scope, plan, records, r.dLogits!, grads, rows, penalty.grads);
        } catch (err) {
          tf.dispose(grads);
          throw err;
        }
        return { grads, sums: sumsOf(r.loss, r.correct, other) };
      } finally {
        free();
      }
    },
    evaluate(batch, predictions) {
      try {
        const logits = logitsOf(forward(tf, scope, plan.nodes, input(batch)));
        const predicted = predictions ? new Int32Array(batch.size) : undefined;
        const shards = shardRows(batch.size, split.shards);
        const other = otherSums(heapF32(logits), batch.y, shards);
        const r = jsLoss
          ? lossOverShards(heapF32(logits), batch.y, shards, undefined, predicted)
          : tfjsLossOverShards(logits, batch.y, shards, false, predicted);
        return { sums: sumsOf(r.loss, r.correct, other), predicted };
      } finally {
        free();
      }
    },
    outputs(batch) {
      try {
        return heapF32(logitsOf(forward(tf, scope, plan.nodes, input(batch)))).slice();
      } finally {
        free();
      }
    },
    setGradientShards: (shards, gather) => void (split = { shards, gather }),
  };
}
