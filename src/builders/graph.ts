import { didYouMean } from '../util/suggest';

/**
 * The model as a graph: each layer's name and the layers it takes its input
 * from. A file without `name`, `inputs` or `model.outputs` is a stack (each
 * layer takes the one before, the last is the output), exactly as before.
 * One owner for these rules: validation (config/semantic.ts), the model
 * builder (model.ts) and `inspect` all read the graph from here.
 */

/** The model input, as `inputs` names it. */
export const MODEL_INPUT = 'input';
/** `sources` entry for the model input. */
export const INPUT_INDEX = -1;

export interface GraphLayer {
  readonly type: string;
  readonly name?: string;
  readonly inputs?: string | readonly string[];
}

export interface Graph {
  /** Every layer's name: its `name`, else `<type>_<n>` counted per type, as Keras names them. */
  names: string[];
  /** Per layer, the indices it takes input from (INPUT_INDEX: the model input), in the order written. */
  sources: number[][];
  /** Layer indices in an order where every layer comes after its sources (file order when it already is). */
  order: number[];
  /** Index of the output layer. */
  output: number;
  /** True when the graph is a plain stack: build it as a tf.Sequential, as the stack format always has been. */
  plain: boolean;
}

/** Where in a layer a problem is: the layer, its `name`, or one of its `inputs` (index into the list, or -1 when a single string). */
export interface GraphProblem {
  index: number;
  at: 'layer' | 'name' | 'inputs' | 'outputs';
  inputIndex?: number;
  message: string;
}

/** `maxPooling2d` -> `max_pooling2d`, `leakyReLU` -> `leaky_relu` (a run of capitals is one word). */
export function snakeCase(type: string): string {
  return type.replace(/[A-Z]+/g, (c) => '_' + c.toLowerCase());
}

/** Keras-style default names (`conv2d_1`, `dense_2`), counted per type over all layers: stable across processes. */
export function defaultNames(layers: readonly { type: string }[]): string[] {
  const counts = new Map<string, number>();
  return layers.map((l) => {
    const n = (counts.get(l.type) ?? 0) + 1;
    counts.set(l.type, n);
    return `${snakeCase(l.type)}_${n}`;
  });
}

export function layerInputs(l: GraphLayer): readonly string[] | undefined {
  return l.inputs === undefined ? undefined : typeof l.inputs === 'string' ? [l.inputs] : l.inputs;
}

/**
 * Resolves names and inputs, orders the layers, finds the output. `where(i)`
 * describes layer i for messages (`line 12`). Problems are returned, not
 * thrown, so validation reports them all; the graph is returned only when
 * there are none.
 */
export function resolveGraph(
  layers: readonly GraphLayer[],
  outputs: readonly string[] | undefined,
  where: (index: number) => string,
): { graph?: Graph; problems: GraphProblem[] } {
  const problems: GraphProblem[] = [];
  const defaults = defaultNames(layers);
  const names = layers.map((l, i) => l.name ?? defaults[i]);
  const byName = indexNames(layers, names, where, problems);
  const sources = layers.map((l, i) => resolveInputs(l, i, byName, problems));
  const output = resolveOutput(outputs, byName, layers.length, problems);
  if (problems.length) return { problems };
  const order = topologicalOrder(names, sources, where, problems);
  if (!order) return { problems };
  unusedLayers(names, sources, output, where, problems);
  if (problems.length) return { problems };
  const plain = outputs === undefined && layers.every((l, i) => sources[i].length === 1 && sources[i][0] === i - 1);
  return { graph: { names, sources, order, output, plain }, problems };
}

function indexNames(
  layers: readonly GraphLayer[],
  names: string[],
  where: (i: number) => string,
  problems: GraphProblem[],
): Map<string, number> {
  const byName = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === MODEL_INPUT) {
      problems.push({ index: i, at: 'name', message: `"${MODEL_INPUT}" names the model input; choose another name` });
      return;
    }
    const first = byName.get(name);
    if (first === undefined) {
      byName.set(name, i);
      return;
    }
    if (layers[i].name === undefined) {
      // The clash is with a name the user did not write: report it at the name they did write.
      problems.push({
        index: first,
        at: 'name',
        message: `layer name "${name}" is also the default name of the ${layers[i].type} layer at ${where(i)}; choose another name`,
      });
    } else if (layers[first].name === undefined) {
      problems.push({
        index: i,
        at: 'name',
        message: `layer name "${name}" is also the default name of the ${layers[first].type} layer at ${where(first)}; choose another name`,
      });
    } else {
      problems.push({
        index: i,
        at: 'name',
        message: `layer name "${name}" is already the name of the layer at ${where(first)}; names must be unique`,
      });
    }
  });
  return byName;
}

function resolveInputs(l: GraphLayer, i: number, byName: Map<string, number>, problems: GraphProblem[]): number[] {
  const list = layerInputs(l);
  if (list === undefined) return [i - 1];
  const candidates = [MODEL_INPUT, ...byName.keys()];
  return list.map((name, k) => {
    const inputIndex = typeof l.inputs === 'string' ? -1 : k;
    if (name === MODEL_INPUT) return INPUT_INDEX;
    const j = byName.get(name);
    if (j === undefined) {
      problems.push({
        index: i,
        at: 'inputs',
        inputIndex,
        message: `unknown input "${name}"${didYouMean(name, candidates) || `; layers: ${candidates.join(', ')}`}`,
      });
      return INPUT_INDEX;
    }
    if (j === i)
      problems.push({ index: i, at: 'inputs', inputIndex, message: `layer "${name}" takes its own output as input` });
    return j;
  });
}

function resolveOutput(
  outputs: readonly string[] | undefined,
  byName: Map<string, number>,
  count: number,
  problems: GraphProblem[],
): number {
  if (outputs === undefined) return count - 1;
  const name = outputs[0];
  const j = byName.get(name);
  if (j === undefined) {
    problems.push({
      index: 0,
      at: 'outputs',
      message: `unknown layer "${name}"${didYouMean(name, [...byName.keys()]) || `; layers: ${[...byName.keys()].join(', ')}`}`,
    });
    return count - 1;
  }
  return j;
}

/** Kahn's algorithm, taking the earliest ready layer first so a stack keeps its file order; reports one cycle. */
function topologicalOrder(
  names: string[],
  sources: number[][],
  where: (i: number) => string,
  problems: GraphProblem[],
): number[] | undefined {
  const done = new Set<number>();
  const order: number[] = [];
  while (order.length < names.length) {
    const next = names.findIndex((_, i) => !done.has(i) && sources[i].every((s) => s === INPUT_INDEX || done.has(s)));
    if (next === -1) {
      const cycle = findCycle(sources, done);
      const path = cycle.map((i) => `"${names[i]}" (${where(i)})`).join(' -> ');
      problems.push({
        index: cycle[0],
        at: 'inputs',
        message: `cycle: ${path} -> "${names[cycle[0]]}"; a layer cannot depend on its own output`,
      });
      return undefined;
    }
    done.add(next);
    order.push(next);
  }
  return order;
}

/** A cycle among the layers not yet ordered, starting at its first layer in file order. */
function findCycle(sources: number[][], done: Set<number>): number[] {
  const pending = (i: number) => i !== INPUT_INDEX && !done.has(i);
  // Every pending layer has a pending source, so walking sources must revisit a layer.
  let i = sources.findIndex((_, k) => pending(k));
  const seen: number[] = [];
  while (!seen.includes(i)) {
    seen.push(i);
    i = sources[i].find(pending)!;
  }
  const cycle = seen.slice(seen.indexOf(i)).reverse();
  const first = cycle.indexOf(Math.min(...cycle));
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}

function unusedLayers(
  names: string[],
  sources: number[][],
  output: number,
  where: (i: number) => string,
  problems: GraphProblem[],
): void {
  const used = new Set<number>([output]);
  const stack = [output];
  while (stack.length) {
    for (const s of sources[stack.pop()!]) {
      if (s !== INPUT_INDEX && !used.has(s)) {
        used.add(s);
        stack.push(s);
      }
    }
  }
  names.forEach((name, i) => {
    if (!used.has(i)) {
      problems.push({
        index: i,
        at: 'layer',
        message: `layer "${name}" is not used: no path leads from it to the model's output "${names[output]}" (${where(output)}); remove it, or name it in a later layer's inputs`,
      });
    }
  });
}
