import type * as tfjs from '@tensorflow/tfjs';
import type { ResolvedExperiment } from '../../config/load';
import type { TF } from '../types';
import { type ActivationName, isDirectActivation } from './activations';
import { penaltiesOf, type Penalty } from './penalties';

/**
 * Which models the direct training step (direct-step.ts) runs, as a graph of operations read
 * from the built tfjs model (a Sequential stack or a functional model alike): one node per
 * layer, in topological order, each naming the nodes whose outputs it takes (the model's input
 * is INPUT), and the node that is the model's output. The backward pass walks the nodes in
 * reverse and adds up the gradients of a tensor that several nodes read (a residual block's
 * input, a branch).
 *
 * Convolutions (plain and depthwise), max and average pooling and global average pooling (2-D
 * and 1-D), zero padding, dropout (plain and spatial), dense layers (over sequences too), relu layers (capped or
 * not), activation and softmax layers and `add` are direct kernel calls; relu is fused into the convolution, every other
 * activation is one loop on its output (activations.ts); batch normalization has its closed-form
 * gradient (`batchNorm`). Every other layer, with or without weights, runs as `tfjs`: tfjs's
 * own forward pass of that one layer and tfjs's gradient over that one layer (its inputs and
 * its weights), so its mathematics is tfjs's exactly. What remains for whole-model tfjs
 * autograd (other backends, layers applied twice) is returned as
 * `{unsupported}` naming the layer and why, for the log.
 */

/** A convolution's or dense layer's activation (activations.ts). */
export type Activation = ActivationName;
type Pair = [number, number];
type Padding = 'valid' | 'same';

export type DirectOp =
  | {
      kind: 'conv2d' | 'depthwise';
      kernel: tfjs.LayerVariable;
      bias: tfjs.LayerVariable | null;
      strides: Pair;
      pad: Padding;
      /** [1, 1] except for dilated plain convolutions (dilation.ts). */
      dilations: Pair;
      activation: Activation;
    }
  /** 2-D pooling; 1-D pooling as 2-D over [N, steps, 1, C] (as tfjs-layers does), a [p, 1] window. */
  | { kind: 'maxPool' | 'avgPool'; filterSize: Pair; strides: Pair; pad: Padding }
  /** The mean over every axis between the batch and the channels (GlobalAveragePooling2D and 1D). */
  | { kind: 'globalAvgPool' }
  /** Zeros around height and width: [top, bottom] rows, [left, right] columns (ZeroPadding2D). */
  | { kind: 'zeroPad'; rows: Pair; cols: Pair }
  /** An activation layer (other than relu and relu6: `relu`). */
  | { kind: 'activation'; fn: ActivationName }
  | { kind: 'flatten' }
  /**
   * tfjs' dropout with the layer's built seed as the base of each step's seed (builders/model.ts
   * dropoutSeed); `channels`: one draw per (row, channel), shared over height and width (spatial dropout).
   */
  | { kind: 'dropout'; rate: number; baseSeed: number; channels: boolean }
  | { kind: 'dense'; kernel: tfjs.LayerVariable; bias: tfjs.LayerVariable | null; activation: Activation }
  /** The sum of the inputs (tfjs' Add layer: left to right). */
  | { kind: 'add' }
  /** relu capped at `cap` (Infinity: plain relu; 6: relu6): activation layers and the relu layer. */
  | { kind: 'relu'; cap: number }
  /**
   * A layer applied by tfjs (forward, with the training flag) and differentiated by tfjs over
   * itself (backward: its inputs and `weights`, its trainable weights).
   */
  | { kind: 'tfjs'; layer: tfjs.layers.Layer; weights: tfjs.LayerVariable[] }
  /**
   * Batch normalization over the last axis: in training, the batch's statistics over every
   * shard, the moving statistics updated as the layer does, and closed-form gradients for the
   * input, gamma and beta (batch-norm.ts); in inference, the layer itself.
   */
  | {
      kind: 'batchNorm';
      layer: tfjs.layers.Layer;
      gamma: tfjs.LayerVariable | null;
      beta: tfjs.LayerVariable | null;
      epsilon: number;
    };

/** The model's input, as a node's input. */
export const INPUT = -1;

export interface PlanNode {
  op: DirectOp;
  /** The layer's name and class, for messages. */
  name: string;
  /** Indices of the nodes whose outputs this node takes (INPUT: the model's input), in the layer's order. */
  inputs: number[];
  /** Whether the backward pass needs the gradient of this node's inputs (some weight lies upstream). */
  needsInputGrad: boolean;
}

export type DirectPlan = { nodes: PlanNode[]; output: number; penalties: Penalty[] } | { unsupported: string };

const pair = (v: unknown): Pair => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

interface LayerConfig {
  activation?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
  strides?: number | number[];
  padding?: string;
  poolSize?: number | number[];
}

/** What the direct step does not add to the loss or apply after the update (kernel and bias regularizers it does: penalties.ts). */
const UNSUPPORTED = [
  'activityRegularizer',
  'alphaRegularizer',
  'gammaRegularizer',
  'betaRegularizer',
  'kernelConstraint',
  'biasConstraint',
  'depthwiseConstraint',
  'pointwiseConstraint',
];

type OpOrWhy = DirectOp | { unsupported: string };

/** A convolution or dense layer on our kernels, or why not. */
function weightedOp(layer: tfjs.layers.Layer, cls: string, cfg: LayerConfig, name: string): OpOrWhy {
  const w = layer as unknown as {
    kernel?: tfjs.LayerVariable;
    depthwiseKernel?: tfjs.LayerVariable;
    bias?: tfjs.LayerVariable | null;
  };
  const kernel = cls === 'DepthwiseConv2D' ? w.depthwiseKernel : w.kernel;
  if (!kernel) return { unsupported: `${name} has no kernel` };
  const activation = cfg.activation ?? 'linear';
  if (!isDirectActivation(activation)) return { unsupported: `${name} has activation ${activation}` };
  const common = { kernel, bias: w.bias ?? null, activation };
  if (cls === 'Dense') return { kind: 'dense', ...common };
  const dilations = pair(cfg.dilationRate ?? 1);
  if (cls !== 'Conv2D' && (dilations[0] !== 1 || dilations[1] !== 1)) return { unsupported: `${name} is dilated` };
  return {
    kind: cls === 'Conv2D' ? 'conv2d' : 'depthwise',
    ...common,
    dilations,
    strides: pair(cfg.strides ?? 1),
    pad: cfg.padding === 'same' ? 'same' : 'valid',
  };
}

function batchNormOp(layer: tfjs.layers.Layer, name: string): OpOrWhy {
  const bn = layer as unknown as {
    axis: number | number[];
    epsilon: number;
    gamma?: tfjs.LayerVariable;
    beta?: tfjs.LayerVariable;
  };
  const rank = (layer.input as tfjs.SymbolicTensor).shape.length;
  const axis = Array.isArray(bn.axis) ? bn.axis : [bn.axis];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== rank - 1))
    return { unsupported: `${name} normalizes axis ${String(bn.axis)}, not the last` };
  // scale: false / center: false leave the layer without gamma / beta (undefined).
  return { kind: 'batchNorm', layer, gamma: bn.gamma ?? null, beta: bn.beta ?? null, epsilon: bn.epsilon };
}

function dropoutOp(layer: tfjs.layers.Layer, name: string): OpOrWhy {
  const d = layer as unknown as { rate: number; seed?: number; noiseShape?: Array<number | null> | null };
  const rank = (layer.input as tfjs.SymbolicTensor).shape.length;
  const spatial =
    d.noiseShape != null &&
    rank === 4 &&
    d.noiseShape.length === 4 &&
    d.noiseShape[0] == null &&
    d.noiseShape[1] === 1 &&
    d.noiseShape[2] === 1 &&
    d.noiseShape[3] == null;
  if (d.noiseShape != null && !spatial)
    return { unsupported: `${name} has a noise shape other than spatial dropout's` };
  return { kind: 'dropout', rate: d.rate, baseSeed: d.seed ?? 0, channels: spatial };
}

/** The op that runs one layer, or why the model cannot take the direct step. */
export function layerOp(layer: tfjs.layers.Layer): OpOrWhy {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as LayerConfig & Record<string, unknown>;
  const name = `${layer.name} (${cls})`;
  // The layer's own fields, not getConfig (tfjs 4.22's DepthwiseConv2D reports its regularizer as depthwiseConstraint).
  const fields = layer as unknown as Record<string, unknown>;
  const other = UNSUPPORTED.find((k) => fields[k] != null);
  if (other) return { unsupported: `${name} has a ${other}` };
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast')
    return { unsupported: `${name} is ${cfg.dataFormat}` };
  switch (cls) {
    case 'Conv2D':
    case 'DepthwiseConv2D':
    case 'Dense':
      return weightedOp(layer, cls, cfg, name);
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const filterSize = pair(cfg.poolSize ?? 2);
      const pad = cfg.padding === 'same' ? 'same' : 'valid';
      const kind = cls === 'MaxPooling2D' ? 'maxPool' : 'avgPool';
      return { kind, filterSize, strides: pair(cfg.strides ?? filterSize), pad };
    }
    case 'MaxPooling1D':
    case 'AveragePooling1D': {
      const [p, s] = [pair(cfg.poolSize ?? 2)[0], pair(cfg.strides ?? cfg.poolSize ?? 2)[0]];
      const pad = cfg.padding === 'same' ? 'same' : 'valid';
      return { kind: cls === 'MaxPooling1D' ? 'maxPool' : 'avgPool', filterSize: [p, 1], strides: [s, 1], pad };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalAveragePooling1D':
      return { kind: 'globalAvgPool' };
    case 'Softmax': {
      const axis = (layer as unknown as { axis: number | number[] }).axis;
      const rank = (layer.input as tfjs.SymbolicTensor).shape.length;
      const last = axis === -1 || axis === rank - 1;
      return last ? { kind: 'activation', fn: 'softmax' } : { kind: 'tfjs', layer, weights: [] };
    }
    case 'ZeroPadding2D': {
      const [rows, cols] = (layer as unknown as { padding: [Pair, Pair] }).padding;
      return { kind: 'zeroPad', rows: pair(rows), cols: pair(cols) };
    }
    case 'Flatten':
      return { kind: 'flatten' };
    case 'Dropout':
      return dropoutOp(layer, name);
    case 'BatchNormalization':
      return batchNormOp(layer, name);
    case 'Add':
      return { kind: 'add' };
    case 'Activation':
      if (cfg.activation === 'relu' || cfg.activation === 'relu6')
        return { kind: 'relu', cap: cfg.activation === 'relu' ? Infinity : 6 };
      if (cfg.activation && isDirectActivation(cfg.activation)) return { kind: 'activation', fn: cfg.activation };
      return { kind: 'tfjs', layer, weights: [] };
    case 'ReLU':
      return { kind: 'relu', cap: (layer as unknown as { maxValue?: number | null }).maxValue ?? Infinity };
    default:
      return { kind: 'tfjs', layer, weights: layer.trainableWeights };
  }
}

/** The variables an op updates (trainable) and the state it keeps itself (batch normalization's moving statistics). */
function weightsOf(op: DirectOp): { trainable: tfjs.LayerVariable[]; state: tfjs.LayerVariable[] } {
  switch (op.kind) {
    case 'conv2d':
    case 'depthwise':
    case 'dense':
      return { trainable: [op.kernel, ...(op.bias ? [op.bias] : [])], state: [] };
    case 'batchNorm':
      return { trainable: [op.gamma, op.beta].filter((v) => v !== null), state: op.layer.nonTrainableWeights };
    case 'tfjs':
      return { trainable: op.weights, state: [] };
    default:
      return { trainable: [], state: [] };
  }
}

const inputsOf = (layer: tfjs.layers.Layer): tfjs.SymbolicTensor[] => {
  const input = layer.input as tfjs.SymbolicTensor | tfjs.SymbolicTensor[];
  return Array.isArray(input) ? input : [input];
};

/** The model's layers as nodes: each layer's inputs are the nodes that produced them (model.layers is in topological order). */
function graphOf(model: tfjs.LayersModel): { nodes: PlanNode[]; output: number } | { unsupported: string } {
  const producer = new Map<number, number>([[model.inputs[0].id, INPUT]]);
  const nodes: PlanNode[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const name = `${layer.name} (${layer.getClassName()})`;
    if (layer.inboundNodes.length !== 1) return { unsupported: `${name} is applied more than once` };
    const inputs = inputsOf(layer).map((t) => producer.get(t.id));
    if (inputs.some((i) => i === undefined)) return { unsupported: `${name} takes a tensor the model does not make` };
    const op = layerOp(layer);
    if ('unsupported' in op) return op;
    const needsInputGrad = inputs.some((i) => i !== INPUT && nodeHasUpstreamWeights(nodes, i!));
    nodes.push({ op, name, inputs: inputs as number[], needsInputGrad });
    producer.set((layer.output as tfjs.SymbolicTensor).id, nodes.length - 1);
  }
  const output = producer.get(model.outputs[0].id);
  if (output === undefined || output === INPUT) return { unsupported: "the model's output is not a layer's" };
  return { nodes, output };
}

/** Whether node i or anything before it has weights (so gradients must flow into it). */
function nodeHasUpstreamWeights(nodes: PlanNode[], i: number): boolean {
  return nodes[i].needsInputGrad || weightsOf(nodes[i].op).trainable.length > 0;
}

export function planDirectStep(tf: TF, model: tfjs.LayersModel, _experiment: ResolvedExperiment): DirectPlan {
  if (tf.getBackend() !== 'wasm') return { unsupported: `backend ${tf.getBackend()}` };
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    return { unsupported: 'the model has more than one input or output' };
  const graph = graphOf(model);
  if ('unsupported' in graph) return graph;
  const owned = new Set<tfjs.LayerVariable>();
  const stateful = new Set<tfjs.LayerVariable>();
  for (const { op } of graph.nodes) {
    const { trainable, state } = weightsOf(op);
    for (const v of trainable) owned.add(v);
    for (const v of state) stateful.add(v);
  }
  // Every trainable weight must be one this plan updates (and nothing else may hold state).
  if (model.trainableWeights.length !== owned.size || model.trainableWeights.some((w) => !owned.has(w))) {
    return { unsupported: 'the model has trainable weights the direct step does not update' };
  }
  if (model.nonTrainableWeights.some((w) => !stateful.has(w)))
    return { unsupported: 'the model has non-trainable weights outside batch normalization' };
  const output = model.outputs[0]?.shape ?? [];
  if (output.length !== 2) return { unsupported: `the model's output has rank ${output.length}, not 2` };
  const penalties = model.layers.flatMap(penaltiesOf);
  return { ...graph, penalties };
}
