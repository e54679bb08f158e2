import type * as tfjs from '@tensorflow/tfjs';

/**
 * The model's trainable variables in the model's order: the order gradients are applied in
 * (weight-decay.ts), replicas exchange them (pipeline/parallel/exchange.ts) and checkpoints keep
 * the optimizer's slots (optimizer-state.ts).
 */
export const trainableVariables = (model: tfjs.LayersModel): tfjs.Variable[] =>
  model.trainableWeights.map((w) => w.read() as tfjs.Variable);

export const trainableVariableNames = (model: tfjs.LayersModel): string[] =>
  trainableVariables(model).map((v) => v.name);
