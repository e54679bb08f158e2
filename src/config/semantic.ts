import type { Diagnostic } from '../errors';
import { LAYERS } from '../builders/layers';
import { LOSSES } from '../builders/losses';
import { METRICS } from '../builders/metrics';
import { fmtShape, MergeShapeError, ShapeError, type Shape } from '../builders/shapes';
import {
  defaultNames,
  INPUT_INDEX,
  MODEL_INPUT,
  resolveGraph,
  type Graph,
  type GraphLayer,
  type GraphProblem,
} from '../builders/graph';
import type { Experiment } from '../schema/experiment';
import { datasetInfo } from '../data/registry';
import { diagnosticAt } from './diagnostics';
import type { SourceMap } from './source-map';
import type { PathSeg } from './paths';

/** One row of the inferred model: what `inspect` prints and shape checks rely on. */
export interface LayerShapeInfo {
  index: number;
  type: string;
  name: string;
  outputShape: Shape;
  params: number;
  /** Names of the layers it takes input from (`input`: the model input): inspect's "connected to". */
  inputs: string[];
}

export interface ShapeReport {
  inputShape?: Shape;
  /** In an order where each layer follows its inputs (the file's order for a stack). */
  layers: LayerShapeInfo[];
  totalParams: number;
  /** Index of the output layer (the last one unless model.outputs names another), once the graph resolved. */
  output?: number;
}

/** Layer names as the model builder gives them: `name`, else Keras-style `conv2d_1`, `dense_2` counted per type. */
export function layerNames(layers: readonly { type: string; name?: string }[]): string[] {
  const defaults = defaultNames(layers);
  return layers.map((l, i) => l.name ?? defaults[i]);
}

/** How messages refer to layer i: its line in the file (or in a block, and where the block is used). */
export type DescribeLayer = (index: number) => string;

const lineOf =
  (map: SourceMap | undefined): DescribeLayer =>
  (i) =>
    `line ${map ? map.locate(['model', 'layers', i]).line : '?'}`;

/**
 * Shape inference: runs each layer's shape rule from the dataset's input
 * shape through the graph, without TensorFlow, so `validate` stays fast and
 * needs no backend. A layer whose input failed is skipped: its error would
 * only repeat the first one.
 */
export function inferShapes(
  exp: Experiment,
  map: SourceMap | undefined,
  problems: Diagnostic[],
  describe: DescribeLayer = lineOf(map),
): ShapeReport {
  const info = datasetInfo(exp.dataset);
  const layers = exp.model.layers;
  const report: ShapeReport = { inputShape: info.shape, layers: [], totalParams: 0 };
  const { graph, problems: graphProblems } = resolveGraph(layers, exp.model.outputs, describe);
  if (map)
    for (const p of graphProblems) problems.push(diagnosticAt(map, graphProblemPath(p, layers[p.index]), p.message));
  if (!graph) return report;
  report.output = graph.output;
  const inputName = (s: number) => (s === INPUT_INDEX ? MODEL_INPUT : graph.names[s]);
  if (!info.shape) {
    report.layers = graph.order.map((i) => ({
      index: i,
      type: layers[i].type,
      name: graph.names[i],
      outputShape: [],
      params: 0,
      inputs: graph.sources[i].map(inputName),
    }));
    return report;
  }
  const shapes = new Map<number, Shape>([[INPUT_INDEX, info.shape]]);
  for (const i of graph.order) {
    const ins = graph.sources[i].map((s) => shapes.get(s));
    if (ins.some((x) => x === undefined)) continue;
    const row = layerShape(layers[i], i, ins as Shape[], graph, describe, map, problems);
    if (!row) continue;
    shapes.set(i, row.outputShape);
    report.layers.push({ ...row, inputs: graph.sources[i].map(inputName) });
    report.totalParams += row.params;
  }
  const shape = shapes.get(graph.output);
  const classes = info.classes?.length;
  if (map && shape && classes !== undefined && (shape.length !== 1 || shape[0] !== classes)) {
    const last = graph.output;
    const lastLayer = layers[last] as Record<string, unknown>;
    const where: PathSeg[] = 'units' in lastLayer ? ['model', 'layers', last, 'units'] : ['model', 'layers', last];
    const fix =
      shape.length !== 1
        ? 'add a flatten (or globalAveragePooling2d) and a dense layer'
        : `the last layer needs ${classes} units`;
    problems.push(
      diagnosticAt(
        map,
        where,
        `the model outputs ${fmtShape(shape)} but ${exp.dataset.name} has ${classes} classes, so it must output [${classes}]: ${fix}`,
      ),
    );
  }
  return report;
}

function graphProblemPath(p: GraphProblem, layer: GraphLayer): PathSeg[] {
  if (p.at === 'outputs') return ['model', 'outputs', 0];
  const base: PathSeg[] = ['model', 'layers', p.index];
  if (p.at === 'name') return [...base, 'name'];
  if (p.at === 'inputs' && layer.inputs !== undefined)
    return p.inputIndex !== undefined && p.inputIndex >= 0 ? [...base, 'inputs', p.inputIndex] : [...base, 'inputs'];
  return base;
}

/** One layer's output shape and parameters from its input shapes, or a located problem. */
function layerShape(
  layer: Experiment['model']['layers'][number],
  i: number,
  ins: Shape[],
  graph: Graph,
  describe: DescribeLayer,
  map: SourceMap | undefined,
  problems: Diagnostic[],
): Omit<LayerShapeInfo, 'inputs'> | undefined {
  const entry = LAYERS.require(layer.type);
  const path: PathSeg[] = ['model', 'layers', i];
  const inputsPath: PathSeg[] = layer.inputs !== undefined ? [...path, 'inputs'] : path;
  const fail = (where: PathSeg[], message: string) => {
    if (!map) throw new ShapeError(message);
    problems.push(diagnosticAt(map, where, message));
    return undefined;
  };
  const arityProblem = inputCountProblem(entry, ins.length);
  if (arityProblem) return fail(inputsPath, `${arityProblem} (layer ${i}, ${layer.type})`);
  try {
    const out = entry.merge ? entry.merge(ins, layer as never) : entry.outputShape(ins[0], layer as never);
    const params = entry.params(ins[0], layer as never);
    return { index: i, type: layer.type, name: graph.names[i], outputShape: out, params };
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    if (e instanceof MergeShapeError) {
      const from = (k: number) => {
        const s = graph.sources[i][k];
        return `${fmtShape(ins[k])} from ${s === INPUT_INDEX ? 'the model input' : `"${graph.names[s]}" (${describe(s)})`}`;
      };
      const [a, b] = [Math.min(...e.pair), Math.max(...e.pair)];
      return fail(inputsPath, `${e.message}: ${from(a)} vs ${from(b)}`);
    }
    const where = e.key && e.key in layer ? [...path, e.key] : path;
    return fail(where, `${e.message} (layer ${i}, ${layer.type})`);
  }
}

function inputCountProblem(entry: { type: string; merge?: unknown; arity?: number }, n: number): string | undefined {
  if (!entry.merge)
    return n === 1 ? undefined : `${entry.type} takes one input, got ${n}: merge them first (add, concatenate, ...)`;
  if (entry.arity !== undefined && n !== entry.arity)
    return `${entry.type} takes exactly ${entry.arity} inputs, got ${n}`;
  if (n < 2) return `${entry.type} merges two or more inputs, got ${n}: list them in inputs, e.g. inputs: [a, b]`;
  return undefined;
}

/** Rules the schema cannot express: shapes, loss vs. last activation, monitored metric names. */
export function semanticDiagnostics(
  exp: Experiment,
  map: SourceMap,
  describe?: DescribeLayer,
): { problems: Diagnostic[]; shapes: ShapeReport } {
  const problems: Diagnostic[] = [];
  const shapes = inferShapes(exp, map, problems, describe);
  const at = (path: PathSeg[], message: string) => problems.push(diagnosticAt(map, path, message));
  checkLossAgainstOutput(exp, shapes.output ?? exp.model.layers.length - 1, at);
  const opt = exp.training.optimizer as { type: string; nesterov?: boolean; momentum?: number };
  if (opt.type === 'sgd' && opt.nesterov && !opt.momentum) {
    at(['training', 'optimizer', 'nesterov'], 'nesterov needs momentum > 0');
  }
  checkMetricNames(exp, at);
  return { problems, shapes };
}

type Report = (path: PathSeg[], message: string) => void;

/** The loss against the output layer: logits for softmaxCrossEntropy, probabilities for categoricalCrossentropy. */
function checkLossAgainstOutput(exp: Experiment, last: number, at: Report): void {
  const lastLayer = exp.model.layers[last] as { activation?: string; type: string };
  const loss = LOSSES.require(exp.training.loss);
  if (loss.expects === 'logits' && lastLayer.type === 'softmax') {
    at(
      ['model', 'layers', last, 'type'],
      `${loss.type} expects logits, but the output layer is a softmax; remove it (or use loss categoricalCrossentropy)`,
    );
  }
  if (loss.expects === 'logits' && lastLayer.activation === 'softmax') {
    at(
      ['model', 'layers', last, 'activation'],
      `${loss.type} expects logits, but the last layer applies softmax; remove the activation (or use loss categoricalCrossentropy)`,
    );
  }
  if (loss.expects === 'probabilities' && lastLayer.activation !== 'softmax' && lastLayer.type !== 'softmax') {
    at(
      ['training', 'loss'],
      `${loss.type} expects probabilities: the last layer needs activation softmax (or use loss softmaxCrossEntropy on logits)`,
    );
  }
}

/** The metrics named by earlyStopping.monitor, selectBy.metric and sweep.metric: ones the run records (never test ones for selection). */
function checkMetricNames(exp: Experiment, at: Report): void {
  const monitorable = monitorableMetrics(exp);
  const needsSplit = (metric: string) =>
    metric.startsWith('val') && exp.dataset.validationSplit === 0
      ? ' (validation metrics need dataset.validationSplit > 0)'
      : '';
  const es = exp.training.earlyStopping;
  if (es && !monitorable.includes(es.monitor)) {
    at(
      ['training', 'earlyStopping', 'monitor'],
      `unknown metric "${es.monitor}"${needsSplit(es.monitor)}; one of ${monitorable.join(', ')}`,
    );
  }
  const select = exp.training.selectBy;
  if (select) {
    const selectable = monitorable.filter((m) => !m.startsWith('test'));
    if (select.metric.startsWith('test') && monitorable.includes(select.metric)) {
      const alt = selectable.filter((m) => m.startsWith('val'));
      at(
        ['training', 'selectBy', 'metric'],
        `${select.metric} is a test metric: test metrics are reported, never selected on (that would make the test score optimistic); use ${alt.length ? alt.join(', ') : 'a validation metric (set dataset.validationSplit)'}`,
      );
    } else if (!selectable.includes(select.metric)) {
      at(
        ['training', 'selectBy', 'metric'],
        `unknown metric "${select.metric}"${needsSplit(select.metric)}; one of ${selectable.join(', ')}`,
      );
    }
  }
  if (exp.sweep?.metric !== undefined && !monitorable.includes(exp.sweep.metric)) {
    at(['sweep', 'metric'], `unknown metric "${exp.sweep.metric}"; one of ${monitorable.join(', ')}`);
  }
}

/** Per-epoch metric names a run records: loss and metrics, on train, validation (if split) and test. */
export function monitorableMetrics(exp: Pick<Experiment, 'training' | 'dataset'>): string[] {
  const base = ['loss', ...exp.training.metrics.filter((m) => METRICS.get(m))];
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  const out = [...base];
  if (exp.dataset.validationSplit > 0) out.push(...base.map((m) => 'val' + cap(m)));
  out.push(...base.map((m) => 'test' + cap(m)));
  return out;
}
