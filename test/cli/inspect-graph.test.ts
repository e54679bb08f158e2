import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../config/helpers';

/**
 * `pipeline inspect` on a graph (a block, a branch, a concatenate): Keras-style summary
 * with a "connected to" column and the output layer, and the graph for Graphviz and Mermaid.
 */
const FILE = 'test/fixtures/config/good/graph-small.yaml';

const TEXT = `graph-small: cifar10, input [batch, 32, 32, 3]
-------------------------------------------------------------------------------------------------------------------------
#  layer (type)                   output shape        params  connected to  line
-------------------------------------------------------------------------------------------------------------------------
0  stem (conv2d)                  [batch, 32, 32, 4]     112  input         test/fixtures/config/good/graph-small.yaml:12
1  r_conv (conv2d)                [batch, 32, 32, 4]     148  stem          test/fixtures/config/good/graph-small.yaml:13
2  r (add)                        [batch, 32, 32, 4]       0  stem, r_conv  test/fixtures/config/good/graph-small.yaml:13
3  side (conv2d)                  [batch, 32, 32, 4]      20  stem          test/fixtures/config/good/graph-small.yaml:14
4  join (concatenate)             [batch, 32, 32, 8]       0  r, side       test/fixtures/config/good/graph-small.yaml:15
5  pool (globalAveragePooling2d)  [batch, 8]               0  join          test/fixtures/config/good/graph-small.yaml:16
6  logits (dense)                 [batch, 10]             90  pool          test/fixtures/config/good/graph-small.yaml:17
-------------------------------------------------------------------------------------------------------------------------
output: logits
total parameters: 370
`;

const DOT = `digraph "graph-small" {
  rankdir=TB;
  node [shape=box, fontname="Helvetica", fontsize=10];
  "input" [label="input\\n[32, 32, 3]", shape=oval];
  "stem" [label="stem (conv2d)\\n[32, 32, 4]\\n112 params"];
  "r_conv" [label="r_conv (conv2d)\\n[32, 32, 4]\\n148 params"];
  "r" [label="r (add)\\n[32, 32, 4]"];
  "side" [label="side (conv2d)\\n[32, 32, 4]\\n20 params"];
  "join" [label="join (concatenate)\\n[32, 32, 8]"];
  "pool" [label="pool (globalAveragePooling2d)\\n[8]"];
  "logits" [label="logits (dense)\\n[10]\\n90 params", peripheries=2];
  "input" -> "stem";
  "stem" -> "r_conv";
  "stem" -> "r";
  "r_conv" -> "r";
  "stem" -> "side";
  "r" -> "join";
  "side" -> "join";
  "join" -> "pool";
  "pool" -> "logits";
}
`;

const MERMAID = `flowchart TD
  n_input["input [32, 32, 3]"]
  n_stem["stem (conv2d) [32, 32, 4]"]
  n_r_conv["r_conv (conv2d) [32, 32, 4]"]
  n_r["r (add) [32, 32, 4]"]
  n_side["side (conv2d) [32, 32, 4]"]
  n_join["join (concatenate) [32, 32, 8]"]
  n_pool["pool (globalAveragePooling2d) [8]"]
  n_logits["logits (dense) [10]"]
  n_input --> n_stem
  n_stem --> n_r_conv
  n_stem --> n_r
  n_r_conv --> n_r
  n_stem --> n_side
  n_r --> n_join
  n_side --> n_join
  n_join --> n_pool
  n_pool --> n_logits
`;

describe('pipeline inspect on a graph', () => {
  for (const [format, expected] of [
    ['text', TEXT],
    ['dot', DOT],
    ['mermaid', MERMAID],
  ] as const) {
    it(`--format ${format}`, () => {
      const r = runCli(['inspect', FILE, '--format', format]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, expected);
      assert.equal(r.stderr, '');
    });
  }

  it('an unknown --format: exit 2, a usage message', () => {
    const r = runCli(['inspect', FILE, '--format', 'png']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'error: unknown --format "png"; one of text, json, dot, mermaid\n');
  });
});
