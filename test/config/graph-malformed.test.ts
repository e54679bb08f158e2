import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadExperimentText } from '../../src/config/load';
import { CASES, caseText } from './graph-cases';
import { configErrorText, runCli, STACK_LINE } from './helpers';

/**
 * Malformed graphs and blocks: each is refused with every problem located at
 * the line the user wrote (a block's own line and its use site, or the use's
 * parameter), and exactly this text, as `pipeline validate` prints it.
 * The files are built by caseText() from the layers and blocks in graph-cases.ts.
 */
const EXPECTED: Record<string, string> = {
  'unknown-input-typo': `bad/unknown-input-typo.yaml:8:57: model.layers[1].inputs: unknown input "stme"; did you mean "stem"?
  8 |     - {type: conv2d, filters: 8, kernelSize: 3, inputs: stme}
    |                                                         ^
1 error`,
  'unknown-input-far': `bad/unknown-input-far.yaml:8:32: model.layers[1].inputs[0]: unknown input "zzzzzz"; layers: input, stem, flatten_1, dense_1
  8 |     - {type: flatten, inputs: [zzzzzz]}
    |                                ^
1 error`,
  'inputs-empty-list': `bad/inputs-empty-list.yaml:7:31: model.layers[0].inputs: expected a string or a list of at least 1 item, found a list []
  7 |     - {type: flatten, inputs: []}
    |                               ^
1 error`,
  'input-is-itself': `bad/input-is-itself.yaml:7:43: model.layers[0].inputs: layer "flat" takes its own output as input
  7 |     - {type: flatten, name: flat, inputs: flat}
    |                                           ^
1 error`,
  'cycle-of-two': `bad/cycle-of-two.yaml:7:81: model.layers[0].inputs: cycle: "a" (line 7) -> "b" (line 8) -> "a"; a layer cannot depend on its own output
  7 |     - {type: conv2d, filters: 3, kernelSize: 1, padding: same, name: a, inputs: b}
    |                                                                                 ^
1 error`,
  'cycle-of-three': `bad/cycle-of-three.yaml:7:66: model.layers[0].inputs: cycle: "a" (line 7) -> "b" (line 8) -> "c" (line 9) -> "a"; a layer cannot depend on its own output
  7 |     - {type: conv2d, filters: 3, kernelSize: 1, name: a, inputs: c}
    |                                                                  ^
1 error`,
  'unused-branch': `bad/unused-branch.yaml:8:7: model.layers[1]: layer "side" is not used: no path leads from it to the model's output "dense_1" (line 10); remove it, or name it in a later layer's inputs
  8 |     - {type: conv2d, filters: 8, kernelSize: 1, inputs: input, name: side}
    |       ^
1 error`,
  'outputs-unknown': `bad/outputs-unknown.yaml:6:13: model.outputs[0]: unknown layer "logit"; did you mean "logits"?
  6 |   outputs: [logit]
    |             ^
1 error`,
  'outputs-leaves-layers-unused': `bad/outputs-leaves-layers-unused.yaml:10:7: model.layers[2]: layer "extra" is not used: no path leads from it to the model's output "logits" (line 9); remove it, or name it in a later layer's inputs
  10 |     - {type: dense, units: 10, name: extra}
     |       ^
1 error`,
  'outputs-two-names': `bad/outputs-two-names.yaml:6:12: model.outputs: expected a list of 1 to 1 items, found 2 items
  6 |   outputs: [a, b]
    |            ^
1 error`,
  'duplicate-name': `bad/duplicate-name.yaml:8:55: model.layers[1].name: layer name "body" is already the name of the layer at line 7; names must be unique
  8 |     - {type: conv2d, filters: 8, kernelSize: 3, name: body}
    |                                                       ^
1 error`,
  'name-is-a-default-name': `bad/name-is-a-default-name.yaml:7:29: model.layers[0].name: layer name "dense_1" is also the default name of the dense layer at line 8; choose another name
  7 |     - {type: flatten, name: dense_1}
    |                             ^
1 error`,
  'name-input-reserved': `bad/name-input-reserved.yaml:7:29: model.layers[0].name: "input" names the model input; choose another name
  7 |     - {type: flatten, name: input}
    |                             ^
1 error`,
  'name-bad-characters': `bad/name-bad-characters.yaml:7:29: model.layers[0].name: expected a string matching ^[A-Za-z][A-Za-z0-9_]{0,99}$, found "conv-1"
  7 |     - {type: flatten, name: conv-1}
    |                             ^
1 error`,
  'add-shape-mismatch': `bad/add-shape-mismatch.yaml:9:27: model.layers[2].inputs: add needs inputs of one shape: [16, 16, 32] from "conv_b" (line 8) vs [32, 32, 16] from "stage1" (line 7)
  9 |     - {type: add, inputs: [conv_b, stage1]}
    |                           ^
1 error`,
  'add-one-input': `bad/add-one-input.yaml:8:27: model.layers[1].inputs: add merges two or more inputs, got 1: list them in inputs, e.g. inputs: [a, b] (layer 1, add)
  8 |     - {type: add, inputs: [a]}
    |                           ^
1 error`,
  'add-without-inputs': `bad/add-without-inputs.yaml:8:7: model.layers[1]: add merges two or more inputs, got 1: list them in inputs, e.g. inputs: [a, b] (layer 1, add)
  8 |     - {type: add}
    |       ^
1 error`,
  'concatenate-axis-too-big': `bad/concatenate-axis-too-big.yaml:9:33: model.layers[2].axis: concatenate axis 4 is out of range for inputs of rank 3 ([32, 32, 3] besides the batch): use -1..-3 or 1..3 (layer 2, concatenate)
  9 |     - {type: concatenate, axis: 4, inputs: [a, b]}
    |                                 ^
1 error`,
  'concatenate-axis-batch': `bad/concatenate-axis-batch.yaml:9:33: model.layers[2].axis: concatenate axis 0 is out of range for inputs of rank 3 ([32, 32, 3] besides the batch): use -1..-3 or 1..3 (layer 2, concatenate)
  9 |     - {type: concatenate, axis: 0, inputs: [a, b]}
    |                                 ^
1 error`,
  'concatenate-axis-too-negative': `bad/concatenate-axis-too-negative.yaml:9:33: model.layers[2].axis: concatenate axis -4 is out of range for inputs of rank 3 ([32, 32, 3] besides the batch): use -1..-3 or 1..3 (layer 2, concatenate)
  9 |     - {type: concatenate, axis: -4, inputs: [a, b]}
    |                                 ^
1 error`,
  'concatenate-other-axis-differs': `bad/concatenate-other-axis-differs.yaml:9:35: model.layers[2].inputs: concatenate on axis -1 needs inputs that agree on every other axis: [32, 32, 3] from "a" (line 7) vs [30, 30, 5] from "b" (line 8)
  9 |     - {type: concatenate, inputs: [a, b]}
    |                                   ^
1 error`,
  'concatenate-rank-differs': `bad/concatenate-rank-differs.yaml:9:35: model.layers[2].inputs: concatenate on axis -1 needs inputs that agree on every other axis: [3072] from "flat" (line 7) vs [32, 32, 5] from "b" (line 8)
  9 |     - {type: concatenate, inputs: [flat, b]}
    |                                   ^
1 error`,
  'subtract-three-inputs': `bad/subtract-three-inputs.yaml:9:32: model.layers[2].inputs: subtract takes exactly 2 inputs, got 3 (layer 2, subtract)
  9 |     - {type: subtract, inputs: [a, b, input]}
    |                                ^
1 error`,
  'multiply-vs-model-input': `bad/multiply-vs-model-input.yaml:8:32: model.layers[1].inputs: multiply needs inputs of one shape: [32, 32, 3] from the model input vs [32, 32, 8] from "a" (line 7)
  8 |     - {type: multiply, inputs: [input, a]}
    |                                ^
1 error`,
  'conv-with-two-inputs': `bad/conv-with-two-inputs.yaml:8:57: model.layers[1].inputs: conv2d takes one input, got 2: merge them first (add, concatenate, ...) (layer 1, conv2d)
  8 |     - {type: conv2d, filters: 3, kernelSize: 1, inputs: [input, a]}
    |                                                         ^
1 error`,
  'output-not-classes': `bad/output-not-classes.yaml:8:28: model.layers[0].units: the model outputs [5] but cifar10 has 10 classes, so it must output [10]: the last layer needs 10 units
  8 |     - {type: dense, units: 5, name: h, inputs: f}
    |                            ^
1 error`,
  'block-param-missing': `bad/block-param-missing.yaml:12:7: model.layers[0]: block "res" (line 7) needs parameter "filters"
  12 |     - {block: res}
     |       ^
1 error`,
  'block-param-unknown': `bad/block-param-unknown.yaml:12:20: model.layers[0].filter: unknown parameter "filter" for block "res" (line 7); did you mean "filters"?
  12 |     - {block: res, filter: 8}
     |                    ^
1 error`,
  'block-param-unknown-no-params': `bad/block-param-unknown-no-params.yaml:11:20: model.layers[0].filters: unknown parameter "filters" for block "res" (line 7); it has no parameters
  11 |     - {block: res, filters: 8}
     |                    ^
1 error`,
  'block-unknown': `bad/block-unknown.yaml:11:15: model.layers[0].block: unknown block "resdual"; did you mean "residual"?
  11 |     - {block: resdual}
     |               ^
1 error`,
  'block-without-blocks-section': `bad/block-without-blocks-section.yaml:7:15: model.layers[0].block: unknown block "residual"; the file has no blocks section
  7 |     - {block: residual}
    |               ^
1 error`,
  'block-uses-itself': `bad/block-uses-itself.yaml:9:17: blocks.res.layers[1].block: block "res" uses itself: res -> res; blocks cannot be recursive
  9 |       - {block: res}
    |                 ^
1 error`,
  'blocks-use-each-other': `bad/blocks-use-each-other.yaml:12:17: blocks.b.layers[1].block: block "a" uses itself: a -> b -> a; blocks cannot be recursive
  12 |       - {block: a}
     |                 ^
1 error`,
  'block-repeat-zero': `bad/block-repeat-zero.yaml:11:28: model.layers[0].repeat: expected an integer >= 1, found 0
  11 |     - {block: res, repeat: 0}
     |                            ^
1 error`,
  'block-repeat-fraction': `bad/block-repeat-fraction.yaml:11:28: model.layers[0].repeat: expected an integer >= 1, found 1.5
  11 |     - {block: res, repeat: 1.5}
     |                            ^
1 error`,
  'block-name-clash': `bad/block-name-clash.yaml:8:57: blocks.res.layers[0].name: layer name "r_conv" is already the name of the layer at line 12; names must be unique (in block "res" used at line 13)
  8 |       - {type: conv2d, filters: 4, kernelSize: 1, name: conv}
    |                                                         ^
1 error`,
  'block-output-name-clash': `bad/block-output-name-clash.yaml:12:26: model.layers[1].name: layer name "r" is already the name of the layer at line 11; names must be unique (block "res", line 8)
  12 |     - {block: res, name: r}
     |                          ^
1 error`,
  'block-unknown-param-reference': `bad/block-unknown-param-reference.yaml:9:59: blocks.res.layers[0].kernelSize: unknown block parameter "kernel" in block "res"; parameters: filters
  9 |       - {type: conv2d, filters: "\${filters}", kernelSize: "\${kernel}"}
    |                                                           ^
1 error`,
  'block-no-layers': `bad/block-no-layers.yaml:7:13: blocks.res.layers: a block needs layers: a list of at least 1 layer
  7 |     layers: []
    |             ^
1 error`,
  'block-bad-value-from-use': `bad/block-bad-value-from-use.yaml:12:29: model.layers[0].filters: expected an integer >= 1, found 0 (block "res", line 9)
  12 |     - {block: res, filters: 0}
     |                             ^
1 error`,
  'block-layer-unknown-key': `bad/block-layer-unknown-key.yaml:8:59: blocks.res.layers[0].stride: unknown key "stride"; did you mean "strides"? (in block "res" used at line 11)
  8 |       - {type: conv2d, filters: 4, kernelSize: 3, stride: 2}
    |                                                           ^
1 error`,
  'block-layer-unknown-input': `bad/block-layer-unknown-input.yaml:9:33: blocks.res.layers[1].inputs[1]: unknown input "b" in block "res": inputs there name the block's own layers, or "input" for the block's input
  9 |       - {type: add, inputs: [a, b]}
    |                                 ^
1 error`,
  'block-use-with-type': `bad/block-use-with-type.yaml:11:20: model.layers[0].type: a layer has either \`type\` or \`block\`, not both
  11 |     - {block: res, type: conv2d}
     |                    ^
1 error`,
  'blocks-not-a-mapping': `bad/blocks-not-a-mapping.yaml:6:3: blocks: expected a mapping of block name -> {params, layers}
  6 |   - res
    |   ^
1 error`,
  'block-shape-error': `bad/block-shape-error.yaml:14:23: model.layers[1].k: conv2d turns input [30, 30, 4] into [-9, -9, 4]: every dimension must be at least 1 (layer 2, conv2d) (block "res", line 10)
  14 |     - {block: res, k: 40}
     |                       ^
1 error`,
  'block-merge-mismatch': `bad/block-merge-mismatch.yaml:10:29: blocks.res.layers[1].inputs: add needs inputs of one shape: [32, 32, 8] from "stem" (line 13) vs [32, 32, 16] from "res_1_conv" (line 9 in block "res" used at line 14)
  10 |       - {type: add, inputs: [input, conv]}
     |                             ^
1 error`,
  'block-def-unknown-key': `bad/block-def-unknown-key.yaml:7:5: blocks.res.layer: unknown key "layer"; did you mean "layers"?; a block has params and layers
  7 |     layer:
    |     ^
1 error`,
};

describe('malformed graphs and blocks, in-process', () => {
  it('covers at least 30 cases, each with its expected text', () => {
    assert.ok(CASES.length >= 30, `${CASES.length} cases`);
    assert.deepEqual(
      CASES.map((c) => c.name).filter((n) => !(n in EXPECTED)),
      [],
    );
  });
  for (const c of CASES) {
    it(c.name, () => {
      assert.equal(
        configErrorText(() => loadExperimentText(`bad/${c.name}.yaml`, caseText(c))),
        EXPECTED[c.name],
      );
    });
  }
});

describe('malformed graphs and blocks, through the CLI', () => {
  for (const name of ['cycle-of-three', 'block-bad-value-from-use']) {
    it(`${name}: exit 2, the located message on stderr, no stack trace`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-graph-'));
      fs.mkdirSync(path.join(dir, 'bad'));
      fs.writeFileSync(path.join(dir, 'bad', `${name}.yaml`), caseText(CASES.find((c) => c.name === name)!));
      const r = runCli(['validate', `bad/${name}.yaml`], dir);
      fs.rmSync(dir, { recursive: true, force: true });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, EXPECTED[name] + '\n');
      assert.doesNotMatch(r.stderr, STACK_LINE);
    });
  }
});
