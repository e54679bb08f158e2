import { api } from './api.js';
import { curvesSpec, draw, smooth } from './charts.js';
import { clear, fill, el, fmtMetric, fmtValue, runHref, section, simpleTable, statusBadge } from './dom.js';

// Several runs: their curves overlaid (metric, log scale, smoothing) and the config diff
// of the first against each other, as `pipeline diff` computes it, with the seed verdict.

const controls = { metric: null, log: false, smoothing: 0 };

export async function showCompare(root, ids) {
  if (ids.length < 2) {
    fill(
      root,
      el('h1', {}, 'Compare'),
      el('p', {}, 'Select two or more runs in the runs table, then press "compare selected".'),
    );
    return;
  }
  const cmp = await api.compare(ids);
  if (!cmp.metrics.includes(controls.metric))
    controls.metric =
      ['testAccuracy', 'testLoss', 'loss'].find((m) => cmp.metrics.includes(m)) ?? cmp.metrics[0] ?? null;
  const chart = el('div', { class: 'chart wide', id: 'overlay' });
  const redraw = () => drawOverlay(chart, cmp);
  fill(
    root,
    el('h1', {}, 'Compare'),
    el(
      'ul',
      { class: 'inline' },
      cmp.runs.map((r) => el('li', {}, el('a', { href: runHref(r.run) }, r.run), ' ', statusBadge(r.status))),
    ),
    section(
      'Curves',
      el(
        'div',
        { class: 'controls' },
        el(
          'label',
          {},
          'metric ',
          el(
            'select',
            { id: 'metric', on: { change: (e) => ((controls.metric = e.target.value), redraw()) } },
            cmp.metrics.map((m) => el('option', { value: m, selected: m === controls.metric }, m)),
          ),
        ),
        el(
          'label',
          {},
          el('input', {
            type: 'checkbox',
            id: 'log',
            checked: controls.log,
            on: { change: (e) => ((controls.log = e.target.checked), redraw()) },
          }),
          ' log scale',
        ),
        el(
          'label',
          {},
          'smoothing ',
          el('input', {
            type: 'range',
            id: 'smoothing',
            min: 0,
            max: 0.95,
            step: 0.05,
            value: controls.smoothing,
            on: { input: (e) => ((controls.smoothing = Number(e.target.value)), redraw()) },
          }),
        ),
      ),
      chart,
    ),
    cmp.diffs.map((d) => diffSection(d)),
  );
  await redraw();
}

async function drawOverlay(chart, cmp) {
  if (!controls.metric) return void clear(chart).append(el('p', { class: 'muted' }, 'no epochs recorded yet'));
  let raw = cmp.points.filter((p) => p.panel === controls.metric);
  if (controls.log) raw = raw.filter((p) => p.value > 0);
  const points = smooth(raw, controls.smoothing);
  const order = cmp.runs.map((r) => r.run).filter((id) => raw.some((p) => p.series === id));
  await draw(
    chart,
    curvesSpec(points, {
      title: `${controls.metric} by epoch`,
      seriesTitle: 'run',
      seriesOrder: order,
      yTitle: controls.metric,
      log: controls.log,
      raw: controls.smoothing > 0 ? raw : null,
    }),
  );
}

function diffSection(d) {
  const a = d.a.run;
  const b = d.b.run;
  const config = d.config.length
    ? simpleTable(
        ['key', a, b],
        d.config.map((c) => [
          c.key,
          c.kind === 'added' ? '(absent)' : fmtValue(c.old),
          c.kind === 'removed' ? '(absent)' : fmtValue(c.new),
        ]),
      )
    : el('p', { class: 'muted' }, 'same config');
  config.classList?.add('config-diff');
  const env = d.environment.length
    ? el(
        'div',
        {},
        el('h3', {}, 'environment'),
        simpleTable(
          ['key', a, b],
          d.environment.map((e) => [e.key, fmtValue(e.old), fmtValue(e.new)]),
        ),
      )
    : null;
  const best = new Map(d.metrics.best.map((m) => [m.metric, m]));
  const metrics = simpleTable(
    ['metric', `final ${a}`, `final ${b}`, 'change', `best ${a}`, `best ${b}`, 'change'],
    d.metrics.final.map((m) => [
      m.metric,
      fmtMetric(m.old),
      fmtMetric(m.new),
      delta(m.change),
      fmtMetric(best.get(m.metric)?.old),
      fmtMetric(best.get(m.metric)?.new),
      delta(best.get(m.metric)?.change),
    ]),
    (i) => i > 0,
  );
  const verdict = d.seedVerdict
    ? el('pre', { class: 'verdict', id: 'seed-verdict' }, d.seedVerdict)
    : el('p', { class: 'muted' }, 'No seed-noise verdict: it needs both configs run with at least two seeds each.');
  return section(
    `${a} → ${b}: ${d.config.length === 0 ? 'no config changes' : `${d.config.length} config change${d.config.length === 1 ? '' : 's'}`}`,
    config,
    env,
    el('h3', {}, 'metrics'),
    el('div', { class: 'table-wrap' }, metrics),
    el('h3', {}, 'seed noise'),
    verdict,
  );
}

function delta(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return (v > 0 ? '+' : '') + fmtMetric(v);
}
