import { api } from './api.js';
import { confusionSpec, curvesSpec, draw } from './charts.js';
import { fill, el, fmtBytes, fmtMetric, section, simpleTable, statusBadge } from './dom.js';
import { yamlBlock } from './yaml.js';

// One run: its facts (meta), learning curves, per-epoch table, configs, evaluation, files.

export async function showRun(root, name, version) {
  const run = await api.run(name, version);
  fill(
    root,
    el('h1', {}, el('span', { id: 'run-title' }, run.run), ' ', statusBadge(run.status, run.damage)),
    run.damage.length
      ? el('p', { class: 'warning', id: 'damage' }, `This run folder is damaged: ${run.damage.join('; ')}.`)
      : null,
    section('Facts', factsTable(run)),
    section('Learning curves', el('div', { class: 'charts', id: 'curves' })),
    section('Epochs', epochsTable(run)),
    run.evaluation ? section('Evaluation', evaluation(run.evaluation)) : null,
    section(
      'Config',
      el(
        'div',
        { class: 'two' },
        el(
          'div',
          {},
          el('h3', {}, 'as written (config.yaml)'),
          run.configYaml ? yamlBlock(run.configYaml) : el('p', { class: 'muted' }, 'no config.yaml'),
        ),
        el(
          'div',
          {},
          el('h3', {}, 'resolved'),
          run.resolvedYaml ? yamlBlock(run.resolvedYaml) : el('p', { class: 'muted' }, 'no resolved.json'),
        ),
      ),
      run.overrides.length
        ? el(
            'p',
            {},
            'overrides: ',
            run.overrides.map((o) => el('code', {}, o, ' ')),
          )
        : null,
    ),
    section('Files', filesList(run.files)),
  );
  await drawCurves(root.querySelector('#curves'), run.curves);
  if (run.evaluation)
    await draw(root.querySelector('#confusion'), confusionSpec(run.evaluation.classes, run.evaluation.confusion));
}

async function drawCurves(box, curves) {
  if (curves.points.length === 0) {
    box.append(el('p', { class: 'muted' }, 'no epochs recorded yet'));
    return;
  }
  for (const panel of curves.panels) {
    const chart = el('div', { class: 'chart', dataset: { panel } });
    box.append(chart);
    const points = curves.points.filter((p) => p.panel === panel);
    const splits = curves.splits.filter((s) => points.some((p) => p.series === s));
    await draw(chart, curvesSpec(points, { title: panel, seriesTitle: 'split', seriesOrder: splits, yTitle: panel }));
  }
}

function factsTable(run) {
  const m = run.meta ?? {};
  const facts = [
    ['folder', run.dir],
    ['started', m.startedAt],
    ['ended', m.endedAt],
    ['duration', typeof m.durationSeconds === 'number' ? `${m.durationSeconds.toFixed(1)} s` : null],
    ['backend', m.backend ? `${m.backend}${m.backendReason ? ` (${m.backendReason})` : ''}` : null],
    ['workers', m.workers],
    ['seed', m.seed],
    [
      'versions',
      m.versions
        ? Object.entries(m.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : null,
    ],
    ['git commit', m.git ? `${m.git.commit}${m.git.dirty ? ' (dirty)' : ''}` : null],
    ['dataset', m.dataset?.name],
    ['dataset fingerprint', m.dataset?.fingerprint],
    [
      'dataset counts',
      m.dataset?.counts
        ? Object.entries(m.dataset.counts)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : null,
    ],
    ['host', m.host],
    ['command', m.command?.join(' ')],
    [
      'tags',
      m.tags
        ? Object.entries(m.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')
        : null,
    ],
    ['error', m.error],
    ['best epoch', run.best ? `${run.best.epoch} (by ${run.bestBy})` : null],
  ].filter(([, v]) => v !== undefined && v !== null && v !== '');
  return el(
    'table',
    { class: 'facts' },
    el(
      'tbody',
      {},
      facts.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, String(v)))),
    ),
  );
}

function epochsTable(run) {
  if (run.metrics.length === 0) return el('p', { class: 'muted' }, 'no epochs recorded yet');
  const cols = ['epoch', ...run.metricNames];
  const table = simpleTable(
    cols,
    run.metrics.map((r) =>
      cols.map((c) =>
        c === 'epoch'
          ? String(r.epoch)
          : c === 'samplesPerSecond'
            ? Math.round(r[c] ?? 0).toLocaleString('en-US')
            : fmtMetric(r[c]),
      ),
    ),
    () => true,
  );
  table.id = 'epochs';
  return el('div', { class: 'table-wrap' }, table);
}

function evaluation(ev) {
  const perClass = simpleTable(
    ['class', 'examples', 'correct', 'accuracy'],
    ev.perClass.map((c) => [c.class, String(c.examples), String(c.correct), fmtMetric(c.accuracy)]),
    (i) => i > 0,
  );
  perClass.id = 'per-class';
  const chart = el('div', { class: 'chart', id: 'confusion' });
  return el(
    'div',
    {},
    el(
      'p',
      {},
      `${ev.dataset?.examples ?? '?'} test examples (pipeline eval --save): loss ${fmtMetric(ev.loss)}, accuracy ${fmtMetric(ev.accuracy)}`,
    ),
    el('div', { class: 'two' }, perClass, chart),
  );
}

function filesList(files) {
  if (files.length === 0) return el('p', { class: 'muted' }, 'no files');
  return el(
    'ul',
    { class: 'files' },
    files.map((f) =>
      el(
        'li',
        {},
        el(
          'a',
          { href: `/files/${f.path.split('/').map(encodeURIComponent).join('/')}`, target: '_blank', rel: 'noopener' },
          f.path.split('/').slice(2).join('/'),
        ),
        el('span', { class: 'muted' }, ` ${fmtBytes(f.size)}`),
      ),
    ),
  );
}
