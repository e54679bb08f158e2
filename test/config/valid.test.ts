import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadExperimentFile, loadExperimentText, type LoadedExperiment } from '../../src/config/load';
import { configErrorText, FIXTURES, SEED } from './helpers';

/**
 * Valid experiments: the seed, the same experiment written differently (CRLF,
 * BOM, comments, flow style, defaults spelled out), --set, and the defaults
 * stage. "The same experiment" means the same hash of the resolved experiment.
 */

const SEED_TEXT = fs.readFileSync(SEED, 'utf8');
let TMP = '';
let seed: LoadedExperiment;

function write(name: string, data: string | Buffer): string {
  const f = path.join(TMP, name);
  fs.writeFileSync(f, data);
  return f;
}

/** Reads a dotted path (`model.layers[0].padding`) from plain data. */
function at(data: unknown, dotted: string): unknown {
  let v: unknown = data;
  for (const part of dotted.match(/[^.[\]]+/g) ?? []) {
    v =
      v === undefined || v === null
        ? undefined
        : (v as Record<string, unknown>)[/^\d+$/.test(part) ? Number(part) : part];
  }
  return v;
}

before(() => {
  TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-valid-'));
  seed = loadExperimentFile(SEED);
});

describe('the seed experiment', () => {
  it('validates to the article model: 8 layers, flatten 576, 81,302 parameters', () => {
    const e = seed.experiment;
    assert.equal(e.version, 1);
    assert.equal(e.name, 'cifar-lenet');
    assert.equal(e.seed, 42);
    assert.equal(e.dataset.name, 'cifar10');
    assert.deepEqual(
      e.model.layers.map((l) => l.type),
      ['conv2d', 'maxPooling2d', 'conv2d', 'maxPooling2d', 'flatten', 'dense', 'dense', 'dense'],
    );
    assert.deepEqual(seed.shapes.layers[4].outputShape, [576]);
    assert.equal(seed.shapes.totalParams, 81_302);
    assert.equal(e.training.epochs, 100);
    assert.equal(e.training.batchSize, 32);
    assert.deepEqual(
      { ...e.training.optimizer },
      { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    );
    assert.equal(e.training.loss, 'softmaxCrossEntropy');
    assert.deepEqual([...e.training.metrics], ['accuracy']);
    assert.deepEqual(seed.layerLines, [16, 17, 18, 19, 20, 21, 22, 23]);
    assert.match(seed.hash, /^[0-9a-f]{64}$/);
  });

  it('every experiment in configs/ validates', () => {
    const dir = path.dirname(SEED);
    const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.includes('cifar-lenet.yaml'));
    for (const f of files) assert.doesNotThrow(() => loadExperimentFile(path.join(dir, f)), f);
  });

  it('is frozen: nothing downstream can change the resolved experiment', () => {
    assert.ok(Object.isFrozen(seed.experiment));
    assert.ok(Object.isFrozen(seed.experiment.model.layers[0]));
    assert.throws(() => {
      (seed.experiment as { name: string }).name = 'x';
    }, TypeError);
  });
});

describe('the same experiment, written differently, resolves to the same hash', () => {
  const variants: Array<[string, () => string]> = [
    ['CRLF line endings', () => write('crlf.yaml', SEED_TEXT.replace(/\n/g, '\r\n'))],
    ['a UTF-8 BOM', () => write('bom.yaml', '\ufeff' + SEED_TEXT)],
    ['BOM and CRLF together', () => write('bom-crlf.yaml', '\ufeff' + SEED_TEXT.replace(/\n/g, '\r\n'))],
    ['no final newline', () => write('no-eol.yaml', SEED_TEXT.trimEnd())],
    ['comments everywhere, block style', () => path.join(FIXTURES, 'good/lenet-commented.yaml')],
    [
      'comments everywhere, with CRLF',
      () =>
        write(
          'commented-crlf.yaml',
          fs.readFileSync(path.join(FIXTURES, 'good/lenet-commented.yaml'), 'utf8').replace(/\n/g, '\r\n'),
        ),
    ],
    ['flow style (JSON)', () => path.join(FIXTURES, 'good/lenet-flow.yaml')],
    [
      'defaults written out, keys reordered, 0x2A and 1e2',
      () => path.join(FIXTURES, 'good/lenet-explicit-defaults.yaml'),
    ],
  ];
  for (const [name, make] of variants) {
    it(name, () => {
      const loaded = loadExperimentFile(make());
      assert.equal(loaded.hash, seed.hash);
      assert.deepEqual(loaded.experiment, seed.experiment);
      assert.equal(loaded.shapes.totalParams, 81_302);
    });
  }

  it('a different experiment has a different hash (the hash can fail)', () => {
    const other = loadExperimentText('x.yaml', SEED_TEXT.replace('epochs: 100', 'epochs: 99'));
    assert.notEqual(other.hash, seed.hash);
  });

  it('CRLF and a BOM do not move error positions', () => {
    const broken = SEED_TEXT.replace('units: 120', 'units: 0');
    const lf = configErrorText(() => loadExperimentText('f.yaml', broken));
    assert.match(lf, /^f\.yaml:21:28: model\.layers\[5\]\.units: expected an integer >= 1, found 0\n/);
    const crlf = write('broken-crlf.yaml', '\ufeff' + broken.replace(/\n/g, '\r\n'));
    process.chdir(TMP);
    assert.equal(
      configErrorText(() => loadExperimentFile('broken-crlf.yaml')),
      lf.replace(/f\.yaml/g, 'broken-crlf.yaml'),
    );
    assert.ok(path.isAbsolute(crlf));
  });

  it('the loaded text is the file minus its BOM (for the run folder copy)', () => {
    const loaded = loadExperimentFile(write('bom2.yaml', '\ufeff' + SEED_TEXT));
    assert.equal(loaded.text, SEED_TEXT);
  });
});

describe('--set', () => {
  const load = (...set: string[]) => loadExperimentFile(SEED, { overrides: set });

  it('sets numbers', () => {
    const l = load('training.optimizer.learningRate=0.01', 'training.epochs=5', 'model.layers[5].units=64');
    assert.equal(l.experiment.training.optimizer.learningRate, 0.01);
    assert.equal(l.experiment.training.epochs, 5);
    assert.equal((l.experiment.model.layers[5] as { units: number }).units, 64);
    // dense 576->64, then 64->84: the parameter count follows
    assert.equal(l.shapes.totalParams, 168 + 880 + (576 * 64 + 64) + (64 * 84 + 84) + 850);
    assert.notEqual(l.hash, seed.hash);
    assert.deepEqual(l.overrides, [
      'training.optimizer.learningRate=0.01',
      'training.epochs=5',
      'model.layers[5].units=64',
    ]);
  });

  it('sets strings and booleans, and a changed optimizer type gets its own defaults', () => {
    const l = load(
      'name=lenet-sgd',
      'training.optimizer.type=sgd',
      'training.optimizer={type: sgd, momentum: 0.9, nesterov: true}',
      'model.layers[7].useBias=false',
    );
    assert.equal(l.experiment.name, 'lenet-sgd');
    assert.deepEqual(
      { ...l.experiment.training.optimizer },
      { type: 'sgd', learningRate: 0.01, momentum: 0.9, nesterov: true },
    );
    assert.equal((l.experiment.model.layers[7] as { useBias: boolean }).useBias, false);
    assert.equal(l.shapes.totalParams, 81_302 - 10);
  });

  it('sets lists: model.layers[0].kernelSize=[5,5]', () => {
    const l = load('model.layers[0].kernelSize=[5,5]');
    assert.deepEqual([...(l.experiment.model.layers[0] as unknown as { kernelSize: number[] }).kernelSize], [5, 5]);
    // 5x5x3x6+6 = 456 instead of 168; 28->14->12->6: the flatten stays 576
    assert.deepEqual(l.shapes.layers[4].outputShape, [576]);
    assert.equal(l.shapes.totalParams, 81_302 - 168 + 456);
    const metrics = load('training.metrics=[accuracy, top5Accuracy]');
    assert.deepEqual([...metrics.experiment.training.metrics], ['accuracy', 'top5Accuracy']);
  });

  it("adds a known key the file does not have, with that section's defaults: training.earlyStopping.patience=3", () => {
    // earlyStopping watches valLoss by default, which needs a validation split (see malformed.test.ts for the error without it)
    const l = load('dataset.validationSplit=0.1', 'training.earlyStopping.patience=3');
    assert.deepEqual(
      { ...l.experiment.training.earlyStopping },
      { patience: 3, monitor: 'valLoss', mode: 'auto', minDelta: 0, restoreBestWeights: false },
    );
    const limit = load('dataset.limit.train=1000');
    assert.deepEqual({ ...limit.experiment.dataset.limit }, { train: 1000 });
  });

  it('the last --set of a key wins; the file is not touched', () => {
    const l = load('training.epochs=5', 'training.epochs=7');
    assert.equal(l.experiment.training.epochs, 7);
    assert.equal(fs.readFileSync(SEED, 'utf8'), SEED_TEXT);
    assert.equal(loadExperimentFile(SEED).hash, seed.hash);
  });

  it('values are YAML scalars: a quoted number stays a string, plain text is a string', () => {
    const l = load('description="42"', 'seed=7');
    assert.equal(l.experiment.description, '42');
    assert.equal(l.experiment.seed, 7);
    assert.equal(load('description=a, b; c').experiment.description, 'a, b; c');
  });
});

describe('defaults', () => {
  let minimal: LoadedExperiment;
  before(() => {
    minimal = loadExperimentFile(path.join(FIXTURES, 'good/minimal.yaml'));
  });

  // path -> the default the resolved experiment must hold (the file does not set it)
  const DEFAULTS: Array<[string, unknown]> = [
    ['seed', 42],
    ['dataset.validationSplit', 0],
    ['dataset.normalize', { type: 'scale' }],
    ['dataset.augment', {}],
    ['dataset.shuffle', true],
    ['model.layers[0].strides', 1],
    ['model.layers[0].padding', 'valid'],
    ['model.layers[0].dilationRate', 1],
    ['model.layers[0].activation', 'linear'],
    ['model.layers[0].useBias', true],
    ['model.layers[0].kernelInitializer', 'glorotUniform'],
    ['model.layers[0].biasInitializer', 'zeros'],
    ['model.layers[1].poolSize', 2],
    ['model.layers[1].strides', undefined], // pooling strides default to poolSize, as in TensorFlow.js
    ['model.layers[1].padding', 'valid'],
    ['model.layers[2].padding', 'valid'],
    ['model.layers[3].momentum', 0.99],
    ['model.layers[3].epsilon', 0.001],
    ['model.layers[3].center', true],
    ['model.layers[3].scale', true],
    ['model.layers[4].padding', 1],
    ['model.layers[7].activation', 'linear'],
    ['model.layers[7].useBias', true],
    ['training.batchSize', 32],
    ['training.optimizer.learningRate', 0.01],
    ['training.optimizer.momentum', 0],
    ['training.optimizer.nesterov', false],
    ['training.loss', 'softmaxCrossEntropy'],
    ['training.metrics', ['accuracy']],
    ['training.schedule', { type: 'constant', warmupEpochs: 0 }],
    ['training.earlyStopping', undefined],
    ['training.checkpoints', { every: 0 }],
    ['training.workers', 'auto'],
    ['training.evalBatchSize', 500],
    ['sweep', undefined],
    ['description', undefined],
  ];
  for (const [p, expected] of DEFAULTS) {
    it(`${p} = ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(at(minimal.experiment, p), expected);
    });
  }

  it('each optimizer gets its own defaults', () => {
    const OPT: Record<string, Record<string, unknown>> = {
      adam: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      rmsprop: { learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7 },
      adagrad: { learningRate: 0.01, initialAccumulatorValue: 0.1 },
      adadelta: { learningRate: 0.001, rho: 0.95, epsilon: 1e-7 },
      adamax: { learningRate: 0.002, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    };
    for (const [type, defaults] of Object.entries(OPT)) {
      const l = loadExperimentFile(path.join(FIXTURES, 'good/minimal.yaml'), {
        overrides: [`training.optimizer.type=${type}`],
      });
      assert.deepEqual({ ...l.experiment.training.optimizer }, { type, ...defaults }, type);
    }
  });

  it('a sweep section gets its defaults, early stopping included', () => {
    const l = loadExperimentFile(path.join(FIXTURES, 'good/minimal.yaml'), {
      overrides: ['sweep={parameters: {training.batchSize: [16, 32]}, earlyStopping: {type: median}}'],
    });
    assert.deepEqual(JSON.parse(JSON.stringify(l.experiment.sweep)), {
      parameters: { 'training.batchSize': [16, 32] },
      earlyStopping: { type: 'median', minEpochs: 1, minTrials: 3 },
      method: 'grid',
      parallel: 1,
    });
  });

  it('defaults never overwrite what the file says', () => {
    const l = loadExperimentFile(path.join(FIXTURES, 'good/minimal.yaml'), {
      overrides: ['seed=0', 'dataset.shuffle=false', 'model.layers[0].padding=same', 'training.batchSize=1'],
    });
    assert.equal(l.experiment.seed, 0);
    assert.equal(l.experiment.dataset.shuffle, false);
    assert.equal((l.experiment.model.layers[0] as { padding: string }).padding, 'same');
    assert.equal(l.experiment.training.batchSize, 1);
  });
});
