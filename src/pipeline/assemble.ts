import type * as tfjs from '@tensorflow/tfjs';
import { buildModel } from '../builders/model';
import type { ResolvedExperiment } from '../config/load';
import { buildOptimizer, createStepRunner, type StepRunner } from '../engine';
import type { TF } from './types';

/**
 * The model, optimizer and step runner an experiment trains with, built the same way on the
 * main thread and in every data-parallel worker (parallel/worker.ts): the same seed gives the
 * same initial weights everywhere, which the replicas' parameter check relies on.
 */
export interface Trainee {
  model: tfjs.LayersModel;
  optimizer: tfjs.Optimizer;
  steps: StepRunner;
}

export interface AssembleOptions {
  tf: TF;
  experiment: ResolvedExperiment;
  inputShape: [number, number, number];
  numClasses: number;
  /** The main thread's step splits each batch's gradients this many ways (one per replica). */
  gradientShards?: number;
  /** Runs on the freshly built model before the step runner takes its weights (a warm start). */
  initialize?: (model: tfjs.LayersModel) => void;
}

export function assembleTrainee(o: AssembleOptions): Trainee {
  const { tf, experiment: e, inputShape, numClasses } = o;
  const model = buildModel(tf, e, inputShape, numClasses);
  let optimizer: tfjs.Optimizer | undefined;
  try {
    o.initialize?.(model);
    optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
    const steps = createStepRunner({
      tf,
      model,
      optimizer,
      experiment: e,
      numClasses,
      inputShape,
      gradientShards: o.gradientShards,
    });
    return { model, optimizer, steps };
  } catch (err) {
    optimizer?.dispose();
    model.dispose();
    throw err;
  }
}
