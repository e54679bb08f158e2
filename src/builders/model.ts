import type * as tfjs from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { LAYERS } from './layers';
import { INPUT_INDEX, MODEL_INPUT, resolveGraph, type Graph, type GraphLayer } from './graph';
import { deriveSeed } from '../util/random';

type TF = typeof tfjs;

/**
 * What building a model reads of the experiment: its name, seed and model section.
 * A resolved experiment is one; builders sit below the config loader, so they name
 * only the parts they use (each layer's own keys are its registry entry's schema).
 */
export interface ModelSpec {
  readonly name: string;
  readonly seed: number;
  readonly model: { readonly layers: readonly GraphLayer[]; readonly outputs?: readonly string[] };
}

/** The seed a layer's initializers (and dropout's base seed) get: a pure function of the experiment seed and the layer index. */
export function layerSeed(experimentSeed: number, index: number): number {
  // deriveSeed gives a uint32; tfjs seeds go through seedrandom, which takes any number,
  // but keep it below 2^31 so `seed + 1` (the bias initializer's seed) stays an exact small integer.
  return deriveSeed(experimentSeed, 'layer', index) >>> 1;
}

/**
 * Builds the experiment's network from the LAYERS registry: a tf.Sequential for a stack,
 * a functional tf.model for a graph (graph.ts decides).
 *
 * Layer names are the file's `name`s, else defaultNames() (`conv2d_1`, `dense_2`...), so weight names in
 * saved models and checkpoints are the same in every process. Initializers are seeded
 * per layer (layerSeed), so the same experiment seed gives bit-identical initial weights.
 *
 * Dropout: tfjs' dropout layer with a fixed `seed` draws the same mask on every call.
 * The training step (src/engine/step-runner.ts) therefore sets each dropout layer's seed to
 * dropoutSeed(base, epoch, batch) before the forward pass: masks differ per step, and a
 * resumed run draws exactly the masks an uninterrupted one would.
 */
export function buildModel(
  tf: TF,
  experiment: ModelSpec,
  inputShape: readonly number[],
  numClasses: number,
): tfjs.LayersModel {
  const layers = experiment.model.layers;
  const { graph } = resolveGraph(layers, experiment.model.outputs, (i) => `layer ${i}`);
  if (!graph) throw new Error('buildModel: the model graph does not resolve; validation should have caught it');
  const model = graph.plain
    ? buildStack(tf, experiment, graph, inputShape)
    : buildGraph(tf, experiment, graph, inputShape);
  const out = model.outputs[0].shape;
  if (out.length !== 2 || out[1] !== numClasses) {
    model.dispose();
    throw new ConfigError([
      {
        file: experiment.name,
        line: 0,
        column: 0,
        path: `model.layers[${graph.output}]`,
        message: `the model outputs [${out.slice(1).join(', ')}] but the dataset has ${numClasses} classes, so it must output [${numClasses}]`,
      },
    ]);
  }
  return model;
}

/** A stack: a tf.Sequential, as every experiment without graph keys has always been built. */
function buildStack(tf: TF, experiment: ModelSpec, graph: Graph, inputShape: readonly number[]): tfjs.Sequential {
  const model = tf.sequential({ name: experiment.name });
  experiment.model.layers.forEach((cfg, i) => {
    const entry = LAYERS.require(cfg.type);
    model.add(
      entry.build(tf, cfg as never, {
        name: graph.names[i],
        inputShape: i === 0 ? [...inputShape] : undefined,
        seed: layerSeed(experiment.seed, i),
      }),
    );
  });
  return model;
}

/**
 * A graph: a functional tf.model, its layers applied in dependency order. The saved
 * model.json lists each layer's inbound nodes, so stock tf.loadLayersModel rebuilds it.
 * Seeds still follow the layer's index in the file, as in a stack.
 */
function buildGraph(tf: TF, experiment: ModelSpec, graph: Graph, inputShape: readonly number[]): tfjs.LayersModel {
  const input = tf.input({ shape: [...inputShape], name: MODEL_INPUT });
  const outputs = new Map<number, tfjs.SymbolicTensor>([[INPUT_INDEX, input]]);
  for (const i of graph.order) {
    const cfg = experiment.model.layers[i];
    const entry = LAYERS.require(cfg.type);
    const ctx = { name: graph.names[i], seed: layerSeed(experiment.seed, i) };
    const ins = graph.sources[i].map((s) => outputs.get(s)!);
    const out = entry.connect
      ? entry.connect(tf, cfg as never, ctx, ins)
      : (entry.build(tf, cfg as never, ctx).apply(entry.merge ? ins : ins[0]) as tfjs.SymbolicTensor);
    outputs.set(i, out);
  }
  return tf.model({ name: experiment.name, inputs: input, outputs: outputs.get(graph.output)! });
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
