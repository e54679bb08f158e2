import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { REPO, runCli, STACK_LINE } from '../config/helpers';

/**
 * `pipeline validate`, `pipeline inspect` and the program itself, run as a
 * user runs them: a child process from the repository root, checking stdout,
 * stderr and the exit code.
 */

const SEED = 'configs/cifar-lenet.yaml';
const BAD_UNITS = 'test/fixtures/config/bad/units-zero.yaml';
const BAD_YAML = 'test/fixtures/config/bad/syntax-unclosed-flow.yaml';
const COMMENTED = 'test/fixtures/config/good/lenet-commented.yaml';

const INSPECT_SEED = `cifar-lenet: cifar10, input [batch, 32, 32, 3]
-------------------------------------------------------------------------------------------
#  layer (type)                    output shape         params  line
-------------------------------------------------------------------------------------------
0  conv2d_1 (conv2d)               [batch, 30, 30, 6]      168  configs/cifar-lenet.yaml:16
1  max_pooling2d_1 (maxPooling2d)  [batch, 15, 15, 6]        0  configs/cifar-lenet.yaml:17
2  conv2d_2 (conv2d)               [batch, 13, 13, 16]     880  configs/cifar-lenet.yaml:18
3  max_pooling2d_2 (maxPooling2d)  [batch, 6, 6, 16]         0  configs/cifar-lenet.yaml:19
4  flatten_1 (flatten)             [batch, 576]              0  configs/cifar-lenet.yaml:20
5  dense_1 (dense)                 [batch, 120]         69,240  configs/cifar-lenet.yaml:21
6  dense_2 (dense)                 [batch, 84]          10,164  configs/cifar-lenet.yaml:22
7  dense_3 (dense)                 [batch, 10]             850  configs/cifar-lenet.yaml:23
-------------------------------------------------------------------------------------------
total parameters: 81,302
`;

describe('pipeline validate', () => {
  it('the seed: exit 0, one line, nothing on stderr, in under 1.5 s', () => {
    const r = runCli(['validate', SEED]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configs/cifar-lenet.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters)\n');
    assert.equal(r.stderr, '');
    // CPU time of the whole process, node's startup included: wall time also counts the other test files
    // sharing these 2 cores (on an idle machine the two agree within a few percent).
    assert.ok(r.cpuMs < 1500, `validate took ${r.cpuMs.toFixed(0)} ms of CPU (${r.ms.toFixed(0)} ms wall)`);
  });

  it('--data on a fixed-shape dataset says there is nothing more to check (no data read)', () => {
    const r = runCli(['validate', SEED, '--data']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'configs/cifar-lenet.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters; cifar10 has a fixed shape and classes: nothing more to check)\n',
    );
  });

  it('several valid files: one line each, in order, exit 0', () => {
    const r = runCli(['validate', SEED, COMMENTED, SEED]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'configs/cifar-lenet.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters)',
        'test/fixtures/config/good/lenet-commented.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters)',
        'configs/cifar-lenet.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters)',
        '',
      ].join('\n'),
    );
  });

  it('a sweep section: every trial is checked as `pipeline sweep` would; a bad value once, at its line, naming the trials', () => {
    const good = runCli(['validate', 'test/fixtures/runs/tiny-sweep.yaml']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(
      good.stdout,
      'test/fixtures/runs/tiny-sweep.yaml: ok (tiny: 4 layers, 9,122 parameters; sweep of 4 trials, each valid)\n',
    );
    const bad = runCli(['validate', 'test/fixtures/runs/sweep-bad-values.yaml']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.equal(
      bad.stderr,
      'test/fixtures/runs/sweep-bad-values.yaml:19:5: model.layers[3].units: expected an integer >= 1, found 0 (trials 2, 4)\n' +
        '  19 |     model.layers[3].units: [64, 0]\n' +
        '     |     ^\n' +
        '1 error\n',
    );
  });

  it('valid and invalid files mixed: every file is checked, valid ones on stdout, errors on stderr, exit 2', () => {
    const r = runCli(['validate', BAD_UNITS, SEED, BAD_YAML, 'no-such-file.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, 'configs/cifar-lenet.yaml: ok (cifar-lenet: 8 layers, 81,302 parameters)\n');
    assert.equal(
      r.stderr,
      `test/fixtures/config/bad/units-zero.yaml:17:28: model.layers[5].units: expected an integer >= 1, found 0
  17 |     - {type: dense, units: 0, activation: relu}
     |                            ^
1 error
test/fixtures/config/bad/syntax-unclosed-flow.yaml:28:12: YAML syntax error: this [ is never closed with ]
  28 |   metrics: [accuracy
     |            ^
1 error
no-such-file.yaml: no such file
1 error
`,
    );
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });

  it('--set applies to every file', () => {
    const ok = runCli(['validate', SEED, COMMENTED, '--set', 'model.layers[5].units=64']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.match(/44,286 parameters/g)?.length, 2);
    const bad = runCli(['validate', SEED, '--set', 'training.optimiser.learningRate=0.1']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.equal(
      bad.stderr,
      '--set training.optimiser.learningRate=0.1: training.optimiser.learningRate: no key "optimiser" under training; did you mean "optimizer"?\n1 error\n',
    );
  });

  it('--json: parses, one result per file, each error with file, line, column, path and message; exit 2', () => {
    const r = runCli(['validate', '--json', SEED, BAD_UNITS, 'no-such-file.yaml']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, '');
    const results = JSON.parse(r.stdout);
    assert.deepEqual(results, [
      { file: SEED, valid: true, errors: [] },
      {
        file: BAD_UNITS,
        valid: false,
        errors: [
          {
            file: BAD_UNITS,
            line: 17,
            column: 28,
            path: 'model.layers[5].units',
            message: 'expected an integer >= 1, found 0',
          },
        ],
      },
      {
        file: 'no-such-file.yaml',
        valid: false,
        errors: [{ file: 'no-such-file.yaml', line: 0, column: 0, path: '', message: 'no such file' }],
      },
    ]);
  });

  it('--json with every file valid: exit 0', () => {
    const r = runCli(['validate', SEED, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [{ file: SEED, valid: true, errors: [] }]);
  });

  it('several errors in one file come sorted by position, all at once', () => {
    const r = runCli(['validate', '--json', 'test/fixtures/config/bad/many-errors-sorted.yaml']);
    assert.equal(r.code, 2);
    const [{ errors }] = JSON.parse(r.stdout) as Array<{
      errors: Array<{ line: number; column: number; path: string }>;
    }>;
    assert.deepEqual(
      errors.map((e) => [e.line, e.column, e.path]),
      [
        [2, 7, 'name'],
        [17, 21, 'model.layers[5].unit'],
        [22, 11, 'training.epochs'],
      ],
    );
  });

  it('the validation stack loads no TensorFlow.js: config, schema and registries only', () => {
    // The loader that `validate` runs, in a fresh process: which modules did it pull in?
    const script = `
      const { loadExperimentFile } = require('./dist/src/config/load.js');
      const loaded = loadExperimentFile('${SEED}');
      const tf = Object.keys(require.cache).filter((f) => f.includes('@tensorflow'));
      process.stdout.write(JSON.stringify({ params: loaded.shapes.totalParams, tf }));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { params: 81_302, tf: [] });
  });
});

describe('pipeline inspect', () => {
  it("prints the seed model like Keras' summary: shapes, 576, 81,302 and source lines", () => {
    const r = runCli(['inspect', SEED]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, INSPECT_SEED);
    assert.equal(r.stderr, '');
  });

  it('--json', () => {
    const r = runCli(['inspect', SEED, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.totalParams, 81_302);
    assert.deepEqual(s.inputShape, [32, 32, 3]);
    assert.deepEqual(s.layers[4], {
      index: 4,
      type: 'flatten',
      name: 'flatten_1',
      outputShape: [576],
      params: 0,
      line: 20,
      inputs: ['max_pooling2d_2'],
    });
  });

  it('--set changes the summary', () => {
    const r = runCli(['inspect', SEED, '--set', 'model.layers[0].kernelSize=[5,5]']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 {2}conv2d_1 \(conv2d\) +\[batch, 28, 28, 6\] +456 /);
    assert.match(r.stdout, /total parameters: 81,590\n$/);
  });

  it('an invalid file: located errors, exit 2, nothing on stdout', () => {
    const r = runCli(['inspect', BAD_UNITS]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^test\/fixtures\/config\/bad\/units-zero\.yaml:17:28: /);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });
});

describe('the program', () => {
  it('pipeline --help: exit 0, lists validate and inspect', () => {
    const r = runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: pipeline \[options\] \[command\]/);
    assert.match(r.stdout, /\n {2}validate \[options\] <files\.\.\.> +check experiment files/);
    assert.match(r.stdout, /\n {2}inspect \[options\] <file> +show the model layer by layer/);
  });

  it('pipeline validate --help: exit 0, documents --set and --json', () => {
    const r = runCli(['validate', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--set <key=value>/);
    assert.match(r.stdout, /--json/);
  });

  it('pipeline --version: exit 0', () => {
    const r = runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  const USAGE: Array<[string, string[], string]> = [
    ['an unknown command', ['frobnicate'], "error: unknown command 'frobnicate'\n(run `pipeline --help` for usage)\n"],
    [
      'validate without a file',
      ['validate'],
      "error: missing required argument 'files'\n(run `pipeline --help` for usage)\n",
    ],
    [
      'an unknown option',
      ['validate', '--strict', SEED],
      "error: unknown option '--strict'\n(run `pipeline --help` for usage)\n",
    ],
    [
      'inspect with two files',
      ['inspect', SEED, SEED],
      "error: too many arguments for 'inspect'. Expected 1 argument but got 2.\n(run `pipeline --help` for usage)\n",
    ],
    [
      '--set without a value',
      ['validate', SEED, '--set'],
      "error: option '--set <key=value>' argument missing\n(run `pipeline --help` for usage)\n",
    ],
  ];
  for (const [name, args, stderr] of USAGE) {
    it(`${name}: exit 2, a usage message, no stack trace`, () => {
      const r = runCli(args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, stderr);
    });
  }
});
