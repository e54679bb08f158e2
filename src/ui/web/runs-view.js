import { api } from './api.js';
import { clear, fill, el, runHref, statusBadge } from './dom.js';

// The runs table: every run with the columns `pipeline ls` chooses; sort by any column,
// filter by text and status, group by experiment or sweep, select runs to compare.
// The view state lives here so a live refresh keeps the user's sort, filter and selection.

export const state = { sortKey: 'run', desc: false, text: '', status: '', group: 'none', selected: new Set() };
let data = null;

export async function showRuns(root) {
  data = await api.runs();
  render(root);
}

function render(root) {
  const statuses = [...new Set(data.rows.map((r) => r.status))].sort();
  const controls = el(
    'div',
    { class: 'controls' },
    el('input', { type: 'search', id: 'filter', placeholder: 'filter runs…', 'aria-label': 'filter runs', value: state.text, on: { input: (e) => ((state.text = e.target.value), renderBody(root)) } }),
    el(
      'select',
      { id: 'status-filter', 'aria-label': 'status', on: { change: (e) => ((state.status = e.target.value), renderBody(root)) } },
      el('option', { value: '' }, 'all statuses'),
      [...statuses, 'damaged'].map((s) => el('option', { value: s, selected: s === state.status }, s)),
    ),
    el(
      'select',
      { id: 'group-by', 'aria-label': 'group by', on: { change: (e) => ((state.group = e.target.value), renderBody(root)) } },
      [['none', 'no grouping'], ['experiment', 'group by experiment'], ['sweep', 'group by sweep']].map(([v, t]) => el('option', { value: v, selected: v === state.group }, t)),
    ),
    el('button', { id: 'compare', type: 'button', on: { click: () => (location.hash = `#/compare?${[...state.selected].map((id) => `run=${encodeURIComponent(id)}`).join('&')}`) } }, 'compare selected'),
    el('span', { id: 'count', class: 'muted' }),
  );
  fill(root, el('h1', {}, 'Runs ', el('span', { class: 'muted small' }, data.root)), controls, el('div', { class: 'table-wrap' }, el('table', { id: 'runs', class: 'data' })));
  renderBody(root);
}

function visibleRows() {
  const needle = state.text.trim().toLowerCase();
  const rows = data.rows.filter((r) => {
    if (state.status === 'damaged' ? r.damage.length === 0 : state.status && r.status !== state.status) return false;
    return !needle || r.cells.some((c) => c.toLowerCase().includes(needle)) || (r.sweep ?? '').toLowerCase().includes(needle);
  });
  const i = data.columns.findIndex((c) => c.key === state.sortKey);
  if (i >= 0) rows.sort((a, b) => compare(a.values[i], b.values[i], state.desc));
  return rows;
}

/** Missing values last either way; numbers numerically; text naturally (run 10 after run 9). */
function compare(a, b, desc) {
  const ma = a === null || a === undefined;
  const mb = b === null || b === undefined;
  if (ma || mb) return ma === mb ? 0 : ma ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
  return desc ? -c : c;
}

function renderBody(root) {
  const table = root.querySelector('#runs');
  const rows = visibleRows();
  const head = el('tr', {}, el('th', {}, ''), data.columns.map((c) => headerCell(c, root)));
  const body = el('tbody');
  for (const [label, members] of groups(rows)) {
    if (label !== null) body.append(el('tr', { class: 'group' }, el('th', { colspan: data.columns.length + 1 }, `${label} (${members.length})`)));
    for (const r of members) body.append(rowOf(r, root));
  }
  clear(table).append(el('thead', {}, head), body);
  root.querySelector('#count').textContent = `${rows.length} of ${data.rows.length} runs · ${state.selected.size} selected`;
  root.querySelector('#compare').disabled = state.selected.size < 2;
}

function headerCell(c, root) {
  const sorted = state.sortKey === c.key;
  const toggle = () => {
    state.desc = sorted ? !state.desc : c.kind === 'number';
    state.sortKey = c.key;
    renderBody(root);
  };
  return el(
    'th',
    { class: c.kind === 'number' ? 'n' : null, 'aria-sort': sorted ? (state.desc ? 'descending' : 'ascending') : 'none', dataset: { key: c.key } },
    el('button', { type: 'button', class: 'sort', on: { click: toggle } }, c.header, sorted ? (state.desc ? ' ▼' : ' ▲') : ''),
  );
}

function groups(rows) {
  if (state.group === 'none') return [[null, rows]];
  const by = new Map();
  for (const r of rows) {
    const label = state.group === 'experiment' ? r.name : (r.sweep ?? 'not in a sweep');
    if (!by.has(label)) by.set(label, []);
    by.get(label).push(r);
  }
  return [...by.entries()].sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
}

function rowOf(r, root) {
  const box = el('input', { type: 'checkbox', 'aria-label': `select ${r.run}`, checked: state.selected.has(r.run), on: { change: (e) => (e.target.checked ? state.selected.add(r.run) : state.selected.delete(r.run), renderBody(root)) } });
  return el(
    'tr',
    { dataset: { run: r.run }, class: r.damage.length ? 'damaged' : null },
    el('td', {}, box),
    data.columns.map((c, i) => {
      if (c.key === 'run') return el('td', {}, el('a', { href: runHref(r.run) }, r.run));
      if (c.key === 'status') return el('td', {}, statusBadge(r.status, r.damage));
      return el('td', { class: c.kind === 'number' ? 'n' : null, dataset: { key: c.key } }, r.cells[i]);
    }),
  );
}
