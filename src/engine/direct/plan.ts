import type * as tfjs from '@tensorflow/tfjs';
import type { ResolvedExperiment } from '../../config/load';
import type { TF } from '../types';

/**
 * Which models the direct training step (direct-step.ts) runs, as a list of operations read
 * from the built tfjs model. Convolutions, max pooling, dropout and dense layers are direct
 * kernel calls; relu is fused; every other activation, and the weightless layers whose
 * arithmetic is tfjs's own (activation, average and global average pooling, zero padding),
 * run as tfjs ops with their gradient taken by tfjs over that one layer (`tfjs` below), so
 * their mathematics is tfjs's exactly; batch normalization likewise (`batchNorm`). Everything
 * else (dilated convolutions, other backends) keeps whole-model tfjs autograd: `planDirectStep` then returns which layer
 * and why, for the log.
 */

/** relu and linear are handled by our loops; any other activation by its tfjs function. */
export type Activation = 'relu' | 'linear' | { tfjs: string; apply: (x: tfjs.Tensor) => tfjs.Tensor };
type Pair = [number, number];

export type DirectOp =
  | {
      kind: 'conv2d';
      kernel: tfjs.LayerVariable;
      bias: tfjs.LayerVariable | null;
      strides: Pair;
      pad: 'valid' | 'same';
      activation: Activation;
    }
  | { kind: 'maxPool'; filterSize: Pair; strides: Pair; pad: 'valid' | 'same' }
  | { kind: 'flatten' }
  /** tfjs' dropout with the layer's built seed as the base of each step's seed (builders/model.ts dropoutSeed). */
  | { kind: 'dropout'; rate: number; baseSeed: number }
  | { kind: 'dense'; kernel: tfjs.LayerVariable; bias: tfjs.LayerVariable | null; activation: Activation }
  /** A weightless layer applied by tfjs (forward) and differentiated by tfjs over itself (backward). */
  | { kind: 'tfjs'; layer: tfjs.layers.Layer }
  /**
   * Batch normalization over the last axis: forward by the layer itself (so its moving
   * statistics are updated exactly as tfjs does), backward by tfjs over tfjs-layers' training
   * arithmetic (moments, then batchNorm) for the input, gamma and beta.
   */
  | {
      kind: 'batchNorm';
      layer: tfjs.layers.Layer;
      gamma: tfjs.LayerVariable | null;
      beta: tfjs.LayerVariable | null;
      epsilon: number;
    };

/** Weightless layers whose output depends on their input alone (no training-mode behaviour, no state). */
const TFJS_LAYERS = new Set(['Activation', 'AveragePooling2D', 'GlobalAveragePooling2D', 'ZeroPadding2D']);

export type DirectPlan = { ops: DirectOp[] } | { unsupported: string };

/** Whether an op mixes the rows of a batch (its gradient cannot be reduced shard by shard). */
export const mixesRows = (op: DirectOp): boolean => op.kind === 'batchNorm';

const pair = (v: unknown): Pair => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

interface LayerConfig {
  activation?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
  strides?: number | number[];
  padding?: string;
  poolSize?: number | number[];
  kernelRegularizer?: unknown;
  biasRegularizer?: unknown;
  activityRegularizer?: unknown;
  kernelConstraint?: unknown;
  biasConstraint?: unknown;
}

function activationOf(layer: tfjs.layers.Layer, cfg: LayerConfig): Activation {
  const a = cfg.activation ?? 'linear';
  if (a === 'relu' || a === 'linear') return a;
  const fn = (layer as unknown as { activation: { apply(x: tfjs.Tensor): tfjs.Tensor } }).activation;
  return { tfjs: a, apply: (x) => fn.apply(x) };
}

export function planDirectStep(tf: TF, model: tfjs.LayersModel, experiment: ResolvedExperiment): DirectPlan {
  if (tf.getBackend() !== 'wasm') return { unsupported: `backend ${tf.getBackend()}` };
  const ops: DirectOp[] = [];
  const owned = new Set<tfjs.LayerVariable>();
  /** Non-trainable weights a layer on the plan updates itself (batch normalization's moving statistics). */
  const stateful = new Set<tfjs.LayerVariable>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    const name = `${layer.name} (${cls})`;
    if (
      cfg.kernelRegularizer ||
      cfg.biasRegularizer ||
      cfg.activityRegularizer ||
      cfg.kernelConstraint ||
      cfg.biasConstraint
    ) {
      return { unsupported: `${name} has a regularizer or constraint` };
    }
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast')
      return { unsupported: `${name} is ${cfg.dataFormat}` };
    const weights = layer as unknown as { kernel?: tfjs.LayerVariable; bias?: tfjs.LayerVariable | null };
    if (cls === 'Conv2D' || cls === 'Dense') {
      const activation = activationOf(layer, cfg);
      if (!weights.kernel) return { unsupported: `${name} has no kernel` };
      const bias = weights.bias ?? null;
      owned.add(weights.kernel);
      if (bias) owned.add(bias);
      if (cls === 'Conv2D') {
        const [dh, dw] = pair(cfg.dilationRate ?? 1);
        if (dh !== 1 || dw !== 1) return { unsupported: `${name} is dilated` };
        ops.push({
          kind: 'conv2d',
          kernel: weights.kernel,
          bias,
          strides: pair(cfg.strides ?? 1),
          pad: cfg.padding === 'same' ? 'same' : 'valid',
          activation,
        });
      } else {
        const inputShape = (layer.input as tfjs.SymbolicTensor).shape;
        if (inputShape.length !== 2) return { unsupported: `${name} on an input of rank ${inputShape.length}` };
        ops.push({ kind: 'dense', kernel: weights.kernel, bias, activation });
      }
    } else if (cls === 'MaxPooling2D') {
      const filterSize = pair(cfg.poolSize ?? 2);
      ops.push({
        kind: 'maxPool',
        filterSize,
        strides: pair(cfg.strides ?? filterSize),
        pad: cfg.padding === 'same' ? 'same' : 'valid',
      });
    } else if (cls === 'Flatten') {
      ops.push({ kind: 'flatten' });
    } else if (cls === 'Dropout') {
      const dropout = layer as unknown as { rate: number; seed?: number; noiseShape?: unknown };
      if (dropout.noiseShape != null) return { unsupported: `${name} has a noise shape` };
      ops.push({ kind: 'dropout', rate: dropout.rate, baseSeed: dropout.seed ?? 0 });
    } else if (cls === 'BatchNormalization') {
      const bn = layer as unknown as {
        axis: number | number[];
        epsilon: number;
        gamma: tfjs.LayerVariable | null;
        beta: tfjs.LayerVariable | null;
      };
      const rank = (layer.input as tfjs.SymbolicTensor).shape.length;
      const axis = Array.isArray(bn.axis) ? bn.axis : [bn.axis];
      if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1))
        return { unsupported: `${name} normalizes axis ${String(bn.axis)}, not the last` };
      for (const v of [bn.gamma, bn.beta]) if (v) owned.add(v);
      for (const v of layer.nonTrainableWeights) stateful.add(v);
      ops.push({ kind: 'batchNorm', layer, gamma: bn.gamma, beta: bn.beta, epsilon: bn.epsilon });
    } else if (TFJS_LAYERS.has(cls) && layer.weights.length === 0) {
      ops.push({ kind: 'tfjs', layer });
    } else {
      return { unsupported: `${name} is not on the direct step` };
    }
  }
  // Every trainable weight must be one this plan updates (and nothing else may hold state).
  if (model.trainableWeights.length !== owned.size || model.trainableWeights.some((w) => !owned.has(w))) {
    return { unsupported: 'the model has trainable weights the direct step does not update' };
  }
  if (model.nonTrainableWeights.some((w) => !stateful.has(w)))
    return { unsupported: 'the model has non-trainable weights outside batch normalization' };
  const output = model.outputs[0]?.shape ?? [];
  if (output.length !== 2) return { unsupported: `the model's output has rank ${output.length}, not 2` };
  return { ops };
}
