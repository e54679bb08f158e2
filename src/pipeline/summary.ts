import type { LoadedExperiment } from '../config/load';

/** The data of `pipeline inspect`: one row per layer, with the YAML line it came from. */
export interface ModelSummary {
  name: string;
  file: string;
  dataset: string;
  inputShape: number[] | null;
  /** Layers in an order where each follows its inputs; `inputs` names them (`input`: the model input). */
  layers: Array<{
    index: number;
    name: string;
    type: string;
    outputShape: number[];
    params: number;
    line: number;
    inputs: string[];
  }>;
  totalParams: number;
  /** The output layer's name. */
  output: string | null;
}

export function summarizeModel(loaded: LoadedExperiment): ModelSummary {
  const { experiment: e, shapes } = loaded;
  const layers = shapes.layers.map((l) => ({
    ...l,
    outputShape: [...l.outputShape],
    inputs: [...l.inputs],
    line: loaded.layerLines[l.index],
  }));
  return {
    name: e.name,
    file: loaded.file,
    dataset: e.dataset.name,
    inputShape: shapes.inputShape ? [...shapes.inputShape] : null,
    layers,
    totalParams: shapes.totalParams,
    output: layers.find((l) => l.index === shapes.output)?.name ?? null,
  };
}

/** A stack reads top to bottom; only a graph needs Keras' "connected to" column. */
function isStack(s: ModelSummary): boolean {
  return (
    s.layers.every((l, i) => l.inputs.length === 1 && l.inputs[0] === (i === 0 ? 'input' : s.layers[i - 1].name)) &&
    s.output === s.layers[s.layers.length - 1]?.name
  );
}

export function formatSummary(s: ModelSummary): string {
  const graph = !isStack(s);
  const head = ['#', 'layer (type)', 'output shape', 'params', ...(graph ? ['connected to'] : []), 'line'];
  const rows = [
    head,
    ...s.layers.map((l) => [
      String(l.index),
      `${l.name} (${l.type})`,
      `[batch, ${l.outputShape.join(', ')}]`,
      l.params.toLocaleString('en-US'),
      ...(graph ? [l.inputs.join(', ')] : []),
      `${s.file}:${l.line}`,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const input = s.inputShape
    ? `[batch, ${s.inputShape.join(', ')}]`
    : 'unknown until the data is read (set dataset.imageSize)';
  return [
    `${s.name}: ${s.dataset}, input ${input}`,
    rule,
    line(rows[0]),
    rule,
    ...rows.slice(1).map(line),
    rule,
    ...(graph && s.output ? [`output: ${s.output}`] : []),
    `total parameters: ${s.totalParams.toLocaleString('en-US')}`,
    '',
  ].join('\n');
}

const shapeText = (shape: readonly number[] | null) => (shape ? `[${shape.join(', ')}]` : '[?]');

/** Graphviz: `pipeline inspect FILE --format dot | dot -Tsvg > model.svg`. */
export function formatDot(s: ModelSummary): string {
  const q = (t: string) => JSON.stringify(t);
  const lines = [`digraph ${q(s.name)} {`, '  rankdir=TB;', '  node [shape=box, fontname="Helvetica", fontsize=10];'];
  lines.push(`  "input" [label=${q(`input\n${shapeText(s.inputShape)}`)}, shape=oval];`);
  for (const l of s.layers) {
    const params = l.params ? `\n${l.params.toLocaleString('en-US')} params` : '';
    lines.push(
      `  ${q(l.name)} [label=${q(`${l.name} (${l.type})\n${shapeText(l.outputShape)}${params}`)}${l.name === s.output ? ', peripheries=2' : ''}];`,
    );
  }
  for (const l of s.layers) for (const from of l.inputs) lines.push(`  ${q(from)} -> ${q(l.name)};`);
  lines.push('}', '');
  return lines.join('\n');
}

/** Mermaid (renders in GitHub markdown inside a ```mermaid block). */
export function formatMermaid(s: ModelSummary): string {
  const label = (t: string) => `["${t.replace(/"/g, '#quot;')}"]`;
  // Node ids get a prefix: a layer named `end` or `graph` would be a Mermaid keyword.
  const id = (name: string) => `n_${name}`;
  const lines = ['flowchart TD', `  ${id('input')}${label(`input ${shapeText(s.inputShape)}`)}`];
  for (const l of s.layers) lines.push(`  ${id(l.name)}${label(`${l.name} (${l.type}) ${shapeText(l.outputShape)}`)}`);
  for (const l of s.layers) for (const from of l.inputs) lines.push(`  ${id(from)} --> ${id(l.name)}`);
  lines.push('');
  return lines.join('\n');
}
