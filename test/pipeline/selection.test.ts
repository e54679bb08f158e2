/**
 * Which epoch is "best": training.selectBy, else the validation metric, else the training one
 * with a warning. Never a test metric: summary.json, checkpoints/best, NAME/best and the
 * "best" values of diff and plot all follow the one selection, and say which metric made it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import { formatDiagnostics } from '../../src/config/diagnostics';
import { loadExperimentText } from '../../src/config/load';
import { runExperiment } from '../../src/pipeline/run';
import { silentTerminal } from '../../src/pipeline/terminal';
import { resolveRun } from '../../src/runs/refs';
import { Run } from '../../src/runs/read';
import { diffRuns, formatDiff } from '../../src/runs/diff';
import { plotRuns } from '../../src/runs/plot';
import { tempRoot, writeRun } from '../runs/fixture';
import { BACKEND, readJson, syntheticDataset, tempDir, tinyExperiment, writeExperiment } from './helpers';

const withSplit = (text: string) => text.replace('  channels: 3\n', '  channels: 3\n  validationSplit: 0.2\n');

function configError(text: string): string {
  try {
    loadExperimentText('sel.yaml', text);
  } catch (e) {
    if (e instanceof ConfigError) return formatDiagnostics(e.diagnostics);
    throw e;
  }
  assert.fail('expected a ConfigError');
}

test('with a validation split the best epoch is chosen on valAccuracy: summary.json, checkpoints/best, meta', async () => {
  const dir = tempDir();
  const file = writeExperiment(
    dir,
    withSplit(tinyExperiment({ epochs: 4, extra: '  earlyStopping: {monitor: valAccuracy, patience: 10}' })),
  );
  const runsDir = path.join(dir, 'runs');
  const r = await runExperiment({
    file,
    runsDir,
    backend: BACKEND,
    dataset: syntheticDataset({ validation: 64 }),
    terminal: silentTerminal,
  });
  assert.equal(r.status, 'completed');
  const rows = fs
    .readFileSync(path.join(r.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const bestVal = Math.max(...rows.map((x) => x.valAccuracy));
  const expected = rows.find((x) => x.valAccuracy === bestVal);
  const summary = readJson(path.join(r.runDir, 'summary.json'));
  assert.equal(summary.bestBy, 'valAccuracy');
  assert.equal(summary.bestGoal, 'max');
  assert.deepEqual(summary.best, expected, 'the first epoch with the highest valAccuracy, whatever its test accuracy');
  assert.deepEqual(readJson(path.join(r.runDir, 'meta.json')).mainMetric, { name: 'valAccuracy', goal: 'max' });
  assert.equal(readJson(path.join(r.runDir, 'checkpoints', 'best', 'state.json')).position.epoch, expected.epoch);
  const log = fs.readFileSync(path.join(r.runDir, 'log.jsonl'), 'utf8');
  assert.ok(log.includes('"msg":"best epoch selected by valAccuracy (max)"'), log);
});

test('without a validation split: selected on the training metric, with a warning naming why', async () => {
  const dir = tempDir();
  const file = writeExperiment(dir, tinyExperiment({ epochs: 2 }));
  const r = await runExperiment({
    file,
    runsDir: path.join(dir, 'runs'),
    backend: BACKEND,
    dataset: syntheticDataset(),
    terminal: silentTerminal,
  });
  assert.equal(readJson(path.join(r.runDir, 'summary.json')).bestBy, 'accuracy');
  const warnings = fs
    .readFileSync(path.join(r.runDir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.level === 40)
    .map((l) => l.msg);
  assert.ok(
    warnings.includes(
      'no validation split, so the best epoch is selected on the training accuracy; test metrics are reported, never selected on (set dataset.validationSplit, or training.selectBy)',
    ),
    warnings.join('\n'),
  );
});

test('training.selectBy: explicit metric and goal; test metrics and unknown names are refused at their line', () => {
  const base = withSplit(tinyExperiment());
  const valLoss = loadExperimentText('sel.yaml', base + '  selectBy: {metric: valLoss}\n').experiment;
  assert.deepEqual(valLoss.training.selectBy, { metric: 'valLoss', goal: 'auto' });
  const cases: Array<[string, string]> = [
    [
      base + '  selectBy: {metric: testAccuracy}\n',
      'sel.yaml:24:22: training.selectBy.metric: testAccuracy is a test metric: test metrics are reported, never selected on (that would make the test score optimistic); use valLoss, valAccuracy',
    ],
    [
      tinyExperiment() + '  selectBy: {metric: valAccuracy}\n',
      'sel.yaml:23:22: training.selectBy.metric: unknown metric "valAccuracy" (validation metrics need dataset.validationSplit > 0); one of loss, accuracy',
    ],
    [
      base + '  selectBy: {metric: accuracy, goal: up}\n',
      'sel.yaml:24:38: training.selectBy.goal: expected one of auto, min, max; found "up"',
    ],
  ];
  for (const [text, first] of cases) assert.equal(configError(text).split('\n')[0], first);
});

test("NAME/best, diff and the plot table follow each run's selection, and say which metric chose the epoch", async () => {
  const root = tempRoot();
  const main = { name: 'valAccuracy', goal: 'max' as const };
  // Run 1: the better test accuracy, the worse validation accuracy. Run 2: the other way round.
  // In run 2, valAccuracy peaks at epoch 2, while the loss keeps falling to epoch 3.
  writeRun(root, {
    name: 'sel',
    mainMetric: main,
    metrics: [
      { epoch: 1, loss: 1.5, valAccuracy: 0.4, testAccuracy: 0.7, testLoss: 1.0 },
      { epoch: 2, loss: 1.4, valAccuracy: 0.5, testAccuracy: 0.8, testLoss: 0.9 },
    ],
  });
  writeRun(root, {
    name: 'sel',
    mainMetric: main,
    metrics: [
      { epoch: 1, loss: 1.9, valAccuracy: 0.5, testAccuracy: 0.5, testLoss: 1.3 },
      { epoch: 2, loss: 1.8596, valAccuracy: 0.7, testAccuracy: 0.6, testLoss: 1.2 },
      { epoch: 3, loss: 1.7428, valAccuracy: 0.6, testAccuracy: 0.65, testLoss: 1.1 },
    ],
  });
  assert.equal(resolveRun('sel/best', root).id, 'sel/2', 'by valAccuracy, not testAccuracy');
  const [a, b] = [Run.fromDir(path.join(root, 'sel', '1')), Run.fromDir(path.join(root, 'sel', '2'))];
  const report = diffRuns(a, b);
  assert.deepEqual(report.bestBy, { a: 'valAccuracy', b: 'valAccuracy' });
  assert.deepEqual(report.metrics.bestEpoch, { a: 2, b: 2 });
  assert.equal(
    report.metrics.best.find((d) => d.metric === 'loss')!.new,
    1.8596,
    'the loss of the selected epoch, named so',
  );
  const text = formatDiff(report);
  assert.match(
    text,
    /metric +final sel\/1 +final sel\/2 +change +rel\. +sel\/1 at best valAccuracy +sel\/2 at best valAccuracy +change +rel\./,
  );
  assert.ok(
    text.includes(
      "at best: every metric at the epoch the run's selection metric chose: sel/1 epoch 2 (best valAccuracy), sel/2 epoch 2 (best valAccuracy)\n",
    ),
    text,
  );

  const html = path.join(root, 'p.html');
  await plotRuns([a, b], ['loss'], html);
  const page = fs.readFileSync(html, 'utf8');
  assert.ok(page.includes('<th>best epoch (by)</th><th>final loss</th><th>loss at best valAccuracy</th>'), page);
  assert.ok(
    page.includes(
      '<tr><td>sel/2</td><td>completed</td><td class="n">3</td><td class="n">2 (valAccuracy)</td><td class="n">1.7428</td><td class="n">1.8596</td></tr>',
    ),
    page,
  );
});
