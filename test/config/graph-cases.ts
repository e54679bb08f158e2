export interface GraphCase {
  name: string;
  layers: string[];
  blocks?: string[];
  outputs?: string;
  stderr: string;
}
const C = (name: string, layers: string[], extra: Partial<GraphCase> = {}): GraphCase => ({
  name,
  layers,
  stderr: '',
  ...extra,
});
export const CASES: GraphCase[] = [
  C('unknown-input-typo', [
    '{type: conv2d, filters: 8, kernelSize: 3, name: stem}',
    '{type: conv2d, filters: 8, kernelSize: 3, inputs: stme}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('unknown-input-far', [
    '{type: conv2d, filters: 8, kernelSize: 3, name: stem}',
    '{type: flatten, inputs: [zzzzzz]}',
    '{type: dense, units: 10}',
  ]),
  C('inputs-empty-list', ['{type: flatten, inputs: []}', '{type: dense, units: 10}']),
  C('input-is-itself', ['{type: flatten, name: flat, inputs: flat}', '{type: dense, units: 10}']),
  C('cycle-of-two', [
    '{type: conv2d, filters: 3, kernelSize: 1, padding: same, name: a, inputs: b}',
    '{type: conv2d, filters: 3, kernelSize: 1, padding: same, name: b, inputs: a}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('cycle-of-three', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a, inputs: c}',
    '{type: conv2d, filters: 3, kernelSize: 1, name: b}',
    '{type: conv2d, filters: 3, kernelSize: 1, name: c}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('unused-branch', [
    '{type: conv2d, filters: 8, kernelSize: 3, name: main}',
    '{type: conv2d, filters: 8, kernelSize: 1, inputs: input, name: side}',
    '{type: flatten, inputs: main}',
    '{type: dense, units: 10}',
  ]),
  C('outputs-unknown', ['{type: flatten}', '{type: dense, units: 10, name: logits}'], { outputs: '[logit]' }),
  C(
    'outputs-leaves-layers-unused',
    ['{type: flatten}', '{type: dense, units: 10, name: logits}', '{type: dense, units: 10, name: extra}'],
    { outputs: '[logits]' },
  ),
  C('outputs-two-names', ['{type: flatten, name: a}', '{type: dense, units: 10, name: b}'], { outputs: '[a, b]' }),
  C('duplicate-name', [
    '{type: conv2d, filters: 8, kernelSize: 3, name: body}',
    '{type: conv2d, filters: 8, kernelSize: 3, name: body}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('name-is-a-default-name', ['{type: flatten, name: dense_1}', '{type: dense, units: 10}']),
  C('name-input-reserved', ['{type: flatten, name: input}', '{type: dense, units: 10}']),
  C('name-bad-characters', ['{type: flatten, name: conv-1}', '{type: dense, units: 10}']),
  C('add-shape-mismatch', [
    '{type: conv2d, filters: 16, kernelSize: 3, padding: same, name: stage1}',
    '{type: conv2d, filters: 32, kernelSize: 3, strides: 2, padding: same, name: conv_b}',
    '{type: add, inputs: [conv_b, stage1]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('add-one-input', [
    '{type: conv2d, filters: 3, kernelSize: 3, name: a}',
    '{type: add, inputs: [a]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('add-without-inputs', [
    '{type: conv2d, filters: 3, kernelSize: 3}',
    '{type: add}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('concatenate-axis-too-big', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 5, kernelSize: 1, inputs: input, name: b}',
    '{type: concatenate, axis: 4, inputs: [a, b]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('concatenate-axis-batch', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 5, kernelSize: 1, inputs: input, name: b}',
    '{type: concatenate, axis: 0, inputs: [a, b]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('concatenate-axis-too-negative', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 5, kernelSize: 1, inputs: input, name: b}',
    '{type: concatenate, axis: -4, inputs: [a, b]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('concatenate-other-axis-differs', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 5, kernelSize: 3, inputs: input, name: b}',
    '{type: concatenate, inputs: [a, b]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('concatenate-rank-differs', [
    '{type: flatten, name: flat}',
    '{type: conv2d, filters: 5, kernelSize: 1, inputs: input, name: b}',
    '{type: concatenate, inputs: [flat, b]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('subtract-three-inputs', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 3, kernelSize: 1, inputs: input, name: b}',
    '{type: subtract, inputs: [a, b, input]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('multiply-vs-model-input', [
    '{type: conv2d, filters: 8, kernelSize: 1, name: a}',
    '{type: multiply, inputs: [input, a]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('conv-with-two-inputs', [
    '{type: conv2d, filters: 3, kernelSize: 1, name: a}',
    '{type: conv2d, filters: 3, kernelSize: 1, inputs: [input, a]}',
    '{type: flatten}',
    '{type: dense, units: 10}',
  ]),
  C('output-not-classes', ['{type: dense, units: 5, name: h, inputs: f}', '{type: flatten, name: f, inputs: input}'], {
    outputs: '[h]',
  }),
  // ---- blocks
  C('block-param-missing', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'res:',
      '  params: {filters: null}',
      '  layers:',
      '    - {type: conv2d, filters: "${filters}", kernelSize: 3}',
    ],
  }),
  C('block-param-unknown', ['{block: res, filter: 8}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'res:',
      '  params: {filters: 4}',
      '  layers:',
      '    - {type: conv2d, filters: "${filters}", kernelSize: 3}',
    ],
  }),
  C('block-param-unknown-no-params', ['{block: res, filters: 8}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 3}'],
  }),
  C('block-unknown', ['{block: resdual}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['residual:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 3}'],
  }),
  C('block-without-blocks-section', ['{block: residual}', '{type: flatten}', '{type: dense, units: 10}']),
  C('block-uses-itself', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 3}', '    - {block: res}'],
  }),
  C('blocks-use-each-other', ['{block: a}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'a:',
      '  layers:',
      '    - {block: b}',
      'b:',
      '  layers:',
      '    - {type: conv2d, filters: 4, kernelSize: 1}',
      '    - {block: a}',
    ],
  }),
  C('block-repeat-zero', ['{block: res, repeat: 0}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 1}'],
  }),
  C('block-repeat-fraction', ['{block: res, repeat: 1.5}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 1}'],
  }),
  C(
    'block-name-clash',
    [
      '{type: conv2d, filters: 4, kernelSize: 1, name: r_conv}',
      '{block: res, name: r}',
      '{type: flatten}',
      '{type: dense, units: 10}',
    ],
    {
      blocks: [
        'res:',
        '  layers:',
        '    - {type: conv2d, filters: 4, kernelSize: 1, name: conv}',
        '    - {type: activation, activation: relu}',
      ],
    },
  ),
  C('block-output-name-clash', ['{type: flatten, name: r}', '{block: res, name: r}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: dense, units: 4}'],
  }),
  C('block-unknown-param-reference', ['{block: res, filters: 4}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'res:',
      '  params: {filters: null}',
      '  layers:',
      '    - {type: conv2d, filters: "${filters}", kernelSize: "${kernel}"}',
    ],
  }),
  C('block-no-layers', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers: []'],
  }),
  C('block-bad-value-from-use', ['{block: res, filters: 0}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'res:',
      '  params: {filters: null}',
      '  layers:',
      '    - {type: conv2d, filters: "${filters}", kernelSize: 3}',
    ],
  }),
  C('block-layer-unknown-key', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 3, stride: 2}'],
  }),
  C('block-layer-unknown-input', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: [
      'res:',
      '  layers:',
      '    - {type: conv2d, filters: 4, kernelSize: 1, name: a}',
      '    - {type: add, inputs: [a, b]}',
    ],
  }),
  C('block-use-with-type', ['{block: res, type: conv2d}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layers:', '    - {type: conv2d, filters: 4, kernelSize: 1}'],
  }),
  C('blocks-not-a-mapping', ['{type: flatten}', '{type: dense, units: 10}'], { blocks: ['- res'] }),
  C(
    'block-shape-error',
    [
      '{type: conv2d, filters: 4, kernelSize: 3, padding: same, name: stem}',
      '{block: res, k: 40}',
      '{type: flatten}',
      '{type: dense, units: 10}',
    ],
    {
      blocks: [
        'res:',
        '  params: {k: 3}',
        '  layers:',
        '    - {type: conv2d, filters: 4, kernelSize: 3}',
        '    - {type: conv2d, filters: 4, kernelSize: "${k}"}',
      ],
    },
  ),
  C(
    'block-merge-mismatch',
    [
      '{type: conv2d, filters: 8, kernelSize: 3, padding: same, name: stem}',
      '{block: res, filters: 16}',
      '{type: flatten}',
      '{type: dense, units: 10}',
    ],
    {
      blocks: [
        'res:',
        '  params: {filters: null}',
        '  layers:',
        '    - {type: conv2d, filters: "${filters}", kernelSize: 3, padding: same, name: conv}',
        '    - {type: add, inputs: [input, conv]}',
      ],
    },
  ),
  C('block-def-unknown-key', ['{block: res}', '{type: flatten}', '{type: dense, units: 10}'], {
    blocks: ['res:', '  layer:', '    - {type: conv2d, filters: 4, kernelSize: 1}'],
  }),
];

export function caseText(c: GraphCase): string {
  return [
    'version: 1',
    `name: ${c.name}`,
    'dataset: {name: cifar10}',
    'training: {epochs: 1, optimizer: {type: sgd}}',
    ...(c.blocks ? ['blocks:', ...c.blocks.map((l) => `  ${l}`)] : []),
    'model:',
    ...(c.outputs ? [`  outputs: ${c.outputs}`] : []),
    '  layers:',
    ...c.layers.map((l) => `    - ${l}`),
    '',
  ].join('\n');
}
