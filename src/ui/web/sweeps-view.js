import { api } from './api.js';
import { draw, parallelSpec, scatterSpec } from './charts.js';
import { fill, el, fmtMetric, fmtValue, runHref, section, simpleTable, statusBadge } from './dom.js';

// Sweeps: the list, and one sweep's leaderboard, parallel coordinates and metric-vs-parameter plots.

export async function showSweeps(root) {
  const sweeps = await api.sweeps();
  const rows = sweeps.map((s) => [
    el('a', { href: `#/sweep/${encodeURIComponent(s.name)}/${s.id.split('/').pop()}` }, s.id),
    s.damage ? statusBadge('unknown', [s.damage]) : statusBadge(s.status),
    s.parameters.join(', '),
    s.metric ? `${s.metric} (${s.goal})` : '—',
    `${s.completed}/${s.trials}`,
    s.best ? `${fmtMetric(s.best.value)} (trial ${s.best.trial}, ${s.best.run})` : '—',
  ]);
  fill(
    root,
    el('h1', {}, 'Sweeps'),
    sweeps.length
      ? simpleTable(['sweep', 'status', 'parameters', 'metric', 'completed', 'best'], rows)
      : el('p', { class: 'muted' }, 'no sweeps in this runs folder'),
  );
}

export async function showSweep(root, name, n) {
  const s = await api.sweep(name, n);
  const trials = s.leaderboard.map((r) => ({
    trial: r.trial,
    status: r.status,
    run: r.run,
    ...r.params,
    [s.metric]: r.value,
  }));
  const parallel = el('div', { class: 'chart wide', id: 'parallel' });
  const scatters = s.parameters.map((k) => el('div', { class: 'chart', dataset: { param: k } }));
  fill(
    root,
    el('h1', {}, s.id, ' ', statusBadge(s.status)),
    section(`Leaderboard by ${s.metric} (${s.goal})`, el('div', { class: 'table-wrap' }, leaderboardTable(s))),
    section('Parameters against the metric', parallel, el('div', { class: 'charts' }, scatters)),
  );
  const ranked = trials.filter((t) => typeof t[s.metric] === 'number');
  if (ranked.length === 0) return void parallel.append(el('p', { class: 'muted' }, 'no trial has a value yet'));
  await draw(parallel, parallelSpec(ranked, s.parameters, s.metric));
  for (const [i, k] of s.parameters.entries()) await draw(scatters[i], scatterSpec(ranked, k, s.metric));
}

function leaderboardTable(s) {
  const rows = s.leaderboard.map((r) => [
    r.rank === null ? '—' : String(r.rank),
    String(r.trial),
    r.run ? el('a', { href: runHref(r.run) }, r.run) : '—',
    statusBadge(r.status),
    ...s.parameters.map((k) => fmtValue(r.params[k])),
    fmtMetric(r.value),
    fmtMetric(r.bestValue),
  ]);
  const table = simpleTable(
    ['rank', 'trial', 'run', 'status', ...s.parameters, s.metric, `best ${s.metric}`],
    rows,
    (i) => i < 2 || i >= 4,
  );
  table.id = 'leaderboard';
  return table;
}
