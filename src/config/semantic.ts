import type { Diagnostic } from '../errors';
import { LAYERS } from '../builders/layers';
import { LOSSES } from '../builders/losses';
import { METRICS } from '../builders/metrics';
import { fmtShape, ShapeError, type Shape } from '../builders/shapes';
import type { Experiment } from '../schema/experiment';
import { staticDatasetInfo } from '../schema/dataset';
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
}

export interface ShapeReport {
  inputShape?: Shape;
  layers: LayerShapeInfo[];
  totalParams: number;
}

/** Keras-style layer names (`conv2d_1`, `dense_2`), counted per type: stable, so weights line up across processes. */
export function layerNames(layers: readonly { type: string }[]): string[] {
  const counts = new Map<string, number>();
  return layers.map((l) => {
    const n = (counts.get(l.type) ?? 0) + 1;
    counts.set(l.type, n);
    return `${l.type.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())}_${n}`;
  });
}

/**
 * Shape inference: runs each layer's shape rule from the dataset's input
 * shape, without TensorFlow, so `validate` stays fast and needs no backend.
 */
export function inferShapes(exp: Experiment, map: SourceMap | undefined, problems: Diagnostic[]): ShapeReport {
  const info = staticDatasetInfo(exp.dataset);
  const names = layerNames(exp.model.layers);
  const report: ShapeReport = { inputShape: info.shape, layers: [], totalParams: 0 };
  if (!info.shape) return report;
  let shape: Shape = info.shape;
  for (const [i, layer] of exp.model.layers.entries()) {
    const entry = LAYERS.require(layer.type);
    const path: PathSeg[] = ['model', 'layers', i];
    try {
      const out = entry.outputShape(shape, layer as never);
      const params = entry.params(shape, layer as never);
      report.layers.push({ index: i, type: layer.type, name: names[i], outputShape: out, params });
      report.totalParams += params;
      shape = out;
    } catch (e) {
      if (!(e instanceof ShapeError) || !map) throw e;
      const where = e.key && e.key in layer ? [...path, e.key] : path;
      problems.push(diagnosticAt(map, where, `${e.message} (layer ${i}, ${layer.type})`));
      return report; // later shapes would only repeat the same mistake
    }
  }
  const classes = info.classes?.length;
  const last = exp.model.layers.length - 1;
  if (map && classes !== undefined && (shape.length !== 1 || shape[0] !== classes)) {
    const lastLayer = exp.model.layers[last] as Record<string, unknown>;
    const where: PathSeg[] = 'units' in lastLayer ? ['model', 'layers', last, 'units'] : ['model', 'layers', last];
    const fix = shape.length !== 1 ? 'add a flatten (or globalAveragePooling2d) and a dense layer' : `the last layer needs ${classes} units`;
    problems.push(
      diagnosticAt(map, where, `the model outputs ${fmtShape(shape)} but ${exp.dataset.name} has ${classes} classes, so it must output [${classes}]: ${fix}`),
    );
  }
  return report;
}

/** Rules the schema cannot express: shapes, loss vs. last activation, monitored metric names. */
export function semanticDiagnostics(exp: Experiment, map: SourceMap): { problems: Diagnostic[]; shapes: ShapeReport } {
  const problems: Diagnostic[] = [];
  const shapes = inferShapes(exp, map, problems);

  const last = exp.model.layers.length - 1;
  const lastLayer = exp.model.layers[last] as { activation?: string };
  const loss = LOSSES.require(exp.training.loss);
  if (loss.expects === 'logits' && lastLayer.activation === 'softmax') {
    problems.push(
      diagnosticAt(map, ['model', 'layers', last, 'activation'], `${loss.type} expects logits, but the last layer applies softmax; remove the activation (or use loss categoricalCrossentropy)`),
    );
  }
  if (loss.expects === 'probabilities' && lastLayer.activation !== 'softmax') {
    problems.push(
      diagnosticAt(map, ['training', 'loss'], `${loss.type} expects probabilities: the last layer needs activation softmax (or use loss softmaxCrossEntropy on logits)`),
    );
  }

  const opt = exp.training.optimizer as { type: string; nesterov?: boolean; momentum?: number };
  if (opt.type === 'sgd' && opt.nesterov && !opt.momentum) {
    problems.push(diagnosticAt(map, ['training', 'optimizer', 'nesterov'], 'nesterov needs momentum > 0'));
  }

  const monitorable = monitorableMetrics(exp);
  const es = exp.training.earlyStopping;
  if (es && !monitorable.includes(es.monitor)) {
    const hint = es.monitor.startsWith('val') && exp.dataset.validationSplit === 0 ? ' (validation metrics need dataset.validationSplit > 0)' : '';
    problems.push(diagnosticAt(map, ['training', 'earlyStopping', 'monitor'], `unknown metric "${es.monitor}"${hint}; one of ${monitorable.join(', ')}`));
  }
  const select = exp.training.selectBy;
  if (select) {
    const selectable = monitorable.filter((m) => !m.startsWith('test'));
    if (select.metric.startsWith('test') && monitorable.includes(select.metric)) {
      const alt = selectable.filter((m) => m.startsWith('val'));
      problems.push(
        diagnosticAt(map, ['training', 'selectBy', 'metric'], `${select.metric} is a test metric: test metrics are reported, never selected on (that would make the test score optimistic); use ${alt.length ? alt.join(', ') : 'a validation metric (set dataset.validationSplit)'}`),
      );
    } else if (!selectable.includes(select.metric)) {
      const hint = select.metric.startsWith('val') && exp.dataset.validationSplit === 0 ? ' (validation metrics need dataset.validationSplit > 0)' : '';
      problems.push(diagnosticAt(map, ['training', 'selectBy', 'metric'], `unknown metric "${select.metric}"${hint}; one of ${selectable.join(', ')}`));
    }
  }
  if (exp.sweep?.metric !== undefined && !monitorable.includes(exp.sweep.metric)) {
    problems.push(diagnosticAt(map, ['sweep', 'metric'], `unknown metric "${exp.sweep.metric}"; one of ${monitorable.join(', ')}`));
  }
  return { problems, shapes };
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
