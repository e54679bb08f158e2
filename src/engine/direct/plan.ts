import type * as tfjs from '@tensorflow/tfjs';
import type { ResolvedExperiment } from '../../config/load';
import type { TF } from '../types';

/**
 * Which models the direct training step (direct-step.ts) runs, as a list of operations read
 * from the built tfjs model. Everything else (batch normalization, other pooling,
 * activations other than relu/linear, other losses or metrics, other backends) keeps the
 * generic tfjs path: `planDirectStep` then returns why not, for the log.
 */

export type Activation = 'relu' | 'linear';
type Pair = [number, number];

export type DirectOp =
  | { kind: 'conv2d'; kernel: tfjs.LayerVariable; bias: tfjs.LayerVariable | null; strides: Pair; pad: 'valid' | 'same'; activation: Activation }
  | { kind: 'maxPool'; filterSize: Pair; strides: Pair; pad: 'valid' | 'same' }
  | { kind: 'flatten' }
  /** tfjs' dropout with the layer's built seed as the base of each step's seed (builders/model.ts dropoutSeed). */
  | { kind: 'dropout'; rate: number; baseSeed: number }
  | { kind: 'dense'; kernel: tfjs.LayerVariable; bias: tfjs.LayerVariable | null; activation: Activation };

export type DirectPlan = { ops: DirectOp[] } | { unsupported: string };

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

function activationOf(cfg: LayerConfig): Activation | undefined {
  const a = cfg.activation ?? 'linear';
  return a === 'relu' || a === 'linear' ? a : undefined;
}

export function planDirectStep(tf: TF, model: tfjs.LayersModel, experiment: ResolvedExperiment): DirectPlan {
  if (tf.getBackend() !== 'wasm') return { unsupported: `backend ${tf.getBackend()}` };
  if (experiment.training.loss !== 'softmaxCrossEntropy') return { unsupported: `loss ${experiment.training.loss}` };
  const metric = experiment.training.metrics.find((m) => m !== 'accuracy');
  if (metric) return { unsupported: `metric ${metric}` };
  const ops: DirectOp[] = [];
  const owned = new Set<tfjs.LayerVariable>();
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as LayerConfig;
    const name = `${layer.name} (${cls})`;
    if (cfg.kernelRegularizer || cfg.biasRegularizer || cfg.activityRegularizer || cfg.kernelConstraint || cfg.biasConstraint) {
      return { unsupported: `${name} has a regularizer or constraint` };
    }
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') return { unsupported: `${name} is ${cfg.dataFormat}` };
    const weights = layer as unknown as { kernel?: tfjs.LayerVariable; bias?: tfjs.LayerVariable | null };
    if (cls === 'Conv2D' || cls === 'Dense') {
      const activation = activationOf(cfg);
      if (!activation) return { unsupported: `${name} activation ${cfg.activation}` };
      if (!weights.kernel) return { unsupported: `${name} has no kernel` };
      const bias = weights.bias ?? null;
      owned.add(weights.kernel);
      if (bias) owned.add(bias);
      if (cls === 'Conv2D') {
        const [dh, dw] = pair(cfg.dilationRate ?? 1);
        if (dh !== 1 || dw !== 1) return { unsupported: `${name} is dilated` };
        ops.push({ kind: 'conv2d', kernel: weights.kernel, bias, strides: pair(cfg.strides ?? 1), pad: cfg.padding === 'same' ? 'same' : 'valid', activation });
      } else {
        const inputShape = (layer.input as tfjs.SymbolicTensor).shape;
        if (inputShape.length !== 2) return { unsupported: `${name} on an input of rank ${inputShape.length}` };
        ops.push({ kind: 'dense', kernel: weights.kernel, bias, activation });
      }
    } else if (cls === 'MaxPooling2D') {
      const filterSize = pair(cfg.poolSize ?? 2);
      ops.push({ kind: 'maxPool', filterSize, strides: pair(cfg.strides ?? filterSize), pad: cfg.padding === 'same' ? 'same' : 'valid' });
    } else if (cls === 'Flatten') {
      ops.push({ kind: 'flatten' });
    } else if (cls === 'Dropout') {
      const dropout = layer as unknown as { rate: number; seed?: number; noiseShape?: unknown };
      if (dropout.noiseShape != null) return { unsupported: `${name} has a noise shape` };
      ops.push({ kind: 'dropout', rate: dropout.rate, baseSeed: dropout.seed ?? 0 });
    } else {
      return { unsupported: `layer ${name}` };
    }
  }
  // Every trainable weight must be one this plan updates (and nothing else may hold state).
  if (model.trainableWeights.length !== owned.size || model.trainableWeights.some((w) => !owned.has(w))) {
    return { unsupported: 'the model has trainable weights outside conv2d/dense kernels and biases' };
  }
  if (model.nonTrainableWeights.length > 0) return { unsupported: 'the model has non-trainable weights' };
  const last = ops[ops.length - 1];
  if (!last || last.kind !== 'dense') return { unsupported: 'the model does not end in a dense layer' };
  return { ops };
}
