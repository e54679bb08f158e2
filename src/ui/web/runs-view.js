import { api } from './api.js';
import { clear, fill, el, runHref, statusBadge } from './dom.js';

// The runs table: every run with the columns `pipeline ls` chooses; sort by any column,
// filter by text and status, group by experiment or sweep, select runs to compare.
// The view state lives here so a live refresh keeps the user's sort, filter and selection.
// Rows are drawn a page at a time (more as the end comes into view): laying out thousands
// of table rows at once takes the browser seconds, and nobody reads them all at once.

export const state = { sortKey: 'run', desc: false, text: '', status: '', group: 'none', selected: new Set() };
const PAGE = 200;
let shown = PAGE;
let data = null;
let more = null;

export async function showRuns(root) {
  const fresh = await api.runs();
  const refresh = data !== null && root.querySelector('#runs') !== null;
  data = fresh;
  // A live refresh redraws the rows only: the filter box keeps its focus and caret.
  if (refresh) renderBody(root, true);
  else render(root);
}

function render(root) {
  const statuses = [...new Set(data.rows.map((r) => r.status))].sort();
  const controls = el(
    'div',
    { class: 'controls' },
    el('input', {
      type: 'search',
      id: 'filter',
      placeholder: 'filter runs…',
      'aria-label': 'filter runs',
      value: state.text,
      on: { input: (e) => ((state.text = e.target.value), renderBody(root)) },
    }),
    el(
      'select',
      {
        id: 'status-filter',
        'aria-label': 'status',
        on: { change: (e) => ((state.status = e.target.value), renderBody(root)) },
      },
      el('option', { value: '' }, 'all statuses'),
      [...statuses, 'damaged'].map((s) => el('option', { value: s, selected: s === state.status }, s)),
    ),
    el(
      'select',
      {
        id: 'group-by',
        'aria-label': 'group by',
        on: { change: (e) => ((state.group = e.target.value), renderBody(root)) },
      },
      [
        ['none', 'no grouping'],
        ['experiment', 'group by experiment'],
        ['sweep', 'group by sweep'],
      ].map(([v, t]) => el('option', { value: v, selected: v === state.group }, t)),
    ),
    el(
      'button',
      {
        id: 'compare',
        type: 'button',
        on: {
          click: () =>
            (location.hash = `#/compare?${[...state.selected].map((id) => `run=${encodeURIComponent(id)}`).join('&')}`),
        },
      },
      'compare selected',
    ),
    el('span', { id: 'count', class: 'muted' }),
  );
  fill(
    root,
    el('h1', {}, 'Runs ', el('span', { class: 'muted small' }, data.root)),
    controls,
    el('div', { class: 'table-wrap' }, el('table', { id: 'runs', class: 'data' })),
  );
  renderBody(root);
}

function visibleRows() {
  const needle = state.text.trim().toLowerCase();
  const rows = data.rows.filter((r) => {
    if (state.status === 'damaged' ? r.damage.length === 0 : state.status && r.status !== state.status) return false;
    return (
      !needle || r.cells.some((c) => c.toLowerCase().includes(needle)) || (r.sweep ?? '').toLowerCase().includes(needle)
    );
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
  const c =
    typeof a === 'number' && typeof b === 'number'
      ? a - b
      : String(a).localeCompare(String(b), undefined, { numeric: true });
  return desc ? -c : c;
}

function renderBody(root, keepShown = false) {
  if (!keepShown) shown = PAGE;
  const rows = visibleRows();
  // Group headings and rows in display order; drawn `shown` at a time.
  const items = [];
  for (const [label, members] of groups(rows)) {
    if (label !== null) items.push({ label, size: members.length });
    for (const r of members) items.push({ row: r });
  }
  const body = el('tbody');
  const table = root.querySelector('#runs');
  clear(table).append(
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', {}, ''),
        data.columns.map((c) => headerCell(c, root)),
      ),
    ),
    body,
  );
  more?.disconnect();
  drawItems(root, body, items, 0, shown);
  root.querySelector('#count').textContent =
    `${rows.length} of ${data.rows.length} runs · ${state.selected.size} selected`;
  root.querySelector('#compare').disabled = state.selected.size < 2;
}

/** Appends items [from, to) and, when some are left, a "show more" row that draws the next ones when seen. */
function drawItems(root, body, items, from, to) {
  body.querySelector('tr.more')?.remove();
  for (const item of items.slice(from, to)) {
    body.append(
      item.row
        ? rowOf(item.row, root)
        : el('tr', { class: 'group' }, el('th', { colspan: data.columns.length + 1 }, `${item.label} (${item.size})`)),
    );
  }
  shown = Math.max(shown, to);
  if (items.length <= to) return;
  const next = () => (more.disconnect(), drawItems(root, body, items, to, to + PAGE * 2));
  const button = el(
    'button',
    { type: 'button', id: 'more', on: { click: next } },
    `show more (${to} of ${items.length} rows shown)`,
  );
  body.append(el('tr', { class: 'more' }, el('td', { colspan: data.columns.length + 1 }, button)));
  more = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && next());
  more.observe(button);
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
    {
      class: c.kind === 'number' ? 'n' : null,
      'aria-sort': sorted ? (state.desc ? 'descending' : 'ascending') : 'none',
      dataset: { key: c.key },
    },
    el(
      'button',
      { type: 'button', class: 'sort', on: { click: toggle } },
      c.header,
      sorted ? (state.desc ? ' ▼' : ' ▲') : '',
    ),
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
  const box = el('input', {
    type: 'checkbox',
    'aria-label': `select ${r.run}`,
    checked: state.selected.has(r.run),
    on: {
      change: (e) => (
        e.target.checked ? state.selected.add(r.run) : state.selected.delete(r.run), updateSelection(root)
      ),
    },
  });
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

function updateSelection(root) {
  root.querySelector('#count').textContent = root
    .querySelector('#count')
    .textContent.replace(/\d+ selected$/, `${state.selected.size} selected`);
  root.querySelector('#compare').disabled = state.selected.size < 2;
}
