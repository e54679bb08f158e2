import type { LoadedExperiment } from '../config/load';

/** The data of `pipeline inspect`: one row per layer, with the YAML line it came from. */
export interface ModelSummary {
  name: string;
  file: string;
  dataset: string;
  inputShape: number[] | null;
  layers: Array<{ index: number; name: string; type: string; outputShape: number[]; params: number; line: number }>;
  totalParams: number;
}

export function summarizeModel(loaded: LoadedExperiment): ModelSummary {
  const { experiment: e, shapes } = loaded;
  return {
    name: e.name,
    file: loaded.file,
    dataset: e.dataset.name,
    inputShape: shapes.inputShape ? [...shapes.inputShape] : null,
    layers: shapes.layers.map((l) => ({ ...l, outputShape: [...l.outputShape], line: loaded.layerLines[l.index] })),
    totalParams: shapes.totalParams,
  };
}

export function formatSummary(s: ModelSummary): string {
  const rows = [
    ['#', 'layer (type)', 'output shape', 'params', 'line'],
    ...s.layers.map((l) => [String(l.index), `${l.name} (${l.type})`, `[batch, ${l.outputShape.join(', ')}]`, l.params.toLocaleString('en-US'), `${s.file}:${l.line}`]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const input = s.inputShape ? `[batch, ${s.inputShape.join(', ')}]` : 'unknown until the data is read (set dataset.imageSize)';
  return [
    `${s.name}: ${s.dataset}, input ${input}`,
    rule,
    line(rows[0]),
    rule,
    ...rows.slice(1).map(line),
    rule,
    `total parameters: ${s.totalParams.toLocaleString('en-US')}`,
    '',
  ].join('\n');
}
