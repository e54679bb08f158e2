import type * as tfjs from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { LAYERS } from './layers';
import { layerNames } from '../config/semantic';
import { deriveSeed } from '../util/random';
import type { ResolvedExperiment } from '../config/load';

type TF = typeof tfjs;

/** The seed a layer's initializers (and dropout's base seed) get: a pure function of the experiment seed and the layer index. */
export function layerSeed(experimentSeed: number, index: number): number {
  // deriveSeed gives a uint32; tfjs seeds go through seedrandom, which takes any number,
  // but keep it below 2^31 so `seed + 1` (the bias initializer's seed) stays an exact small integer.
  return deriveSeed(experimentSeed, 'layer', index) >>> 1;
}

/**
 * Builds the experiment's network as a tf.Sequential from the LAYERS registry.
 *
 * Layer names come from layerNames() (`conv2d_1`, `dense_2`...), so weight names in
 * saved models and checkpoints are the same in every process. Initializers are seeded
 * per layer (layerSeed), so the same experiment seed gives bit-identical initial weights.
 *
 * Dropout: tfjs' dropout layer with a fixed `seed` draws the same mask on every call.
 * The training step (src/engine/step-runner.ts) therefore sets each dropout layer's seed to
 * dropoutSeed(base, epoch, batch) before the forward pass: masks differ per step, and a
 * resumed run draws exactly the masks an uninterrupted one would.
 */
export function buildModel(tf: TF, experiment: ResolvedExperiment, inputShape: readonly number[], numClasses: number): tfjs.Sequential {
  const layers = experiment.model.layers;
  const names = layerNames(layers);
  const model = tf.sequential({ name: experiment.name });
  layers.forEach((cfg, i) => {
    const entry = LAYERS.require(cfg.type);
    model.add(
      entry.build(tf, cfg as never, {
        name: names[i],
        inputShape: i === 0 ? [...inputShape] : undefined,
        seed: layerSeed(experiment.seed, i),
      }),
    );
  });
  const out = model.outputs[0].shape;
  if (out.length !== 2 || out[1] !== numClasses) {
    model.dispose();
    throw new ConfigError([
      {
        file: experiment.name,
        line: 0,
        column: 0,
        path: `model.layers[${layers.length - 1}]`,
        message: `the model outputs [${out.slice(1).join(', ')}] but the dataset has ${numClasses} classes, so it must output [${numClasses}]`,
      },
    ]);
  }
  return model;
}

/** Dropout layers of a model with their base seed (as built), for per-step reseeding. */
export function dropoutLayers(model: tfjs.LayersModel): Array<{ layer: { seed?: number }; baseSeed: number }> {
  return model.layers
    .filter((l) => l.getClassName() === 'Dropout')
    .map((l) => {
      const layer = l as unknown as { seed?: number };
      return { layer, baseSeed: layer.seed ?? 0 };
    });
}

/** The dropout seed for one training step: distinct per (layer, epoch, batch), reproducible. */
export function dropoutSeed(baseSeed: number, epoch: number, batch: number): number {
  return deriveSeed(baseSeed, 'dropout', epoch, batch);
}
