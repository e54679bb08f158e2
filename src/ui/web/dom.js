// DOM helpers. Every string from a run reaches the page through textContent or an
// attribute value, never as markup: a run named `<script>` is shown as those characters.

/** el('td', {class: 'n', title: 'x'}, 'text', childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** Replace a node's children; null, undefined and false children are left out. */
export function fill(node, ...children) {
  clear(node);
  append(node, children);
  return node;
}

/** A metric value as `pipeline ls` prints it: 4 decimals, exponents for the tiny and the huge. */
export function fmtMetric(v) {
  if (typeof v !== 'number') return '—';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return a >= 100 ? v.toFixed(1) : v.toFixed(4);
}

/** A config value for a cell: strings bare, the rest as JSON. */
export function fmtValue(v) {
  if (v === undefined) return '(absent)';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A status badge; `damage` (a list of problems) turns it into a "damaged" one. */
export function statusBadge(status, damage = []) {
  const damaged = damage.length > 0;
  return el(
    'span',
    { class: `badge status-${damaged ? 'damaged' : status}`, title: damaged ? damage.join('; ') : null },
    damaged ? `damaged (${status})` : status,
  );
}

/** The hash route of a run page; names are URI-encoded, so any folder name routes. */
export function runHref(id) {
  const i = id.lastIndexOf('/');
  return `#/run/${encodeURIComponent(id.slice(0, i))}/${id.slice(i + 1)}`;
}

export function section(title, ...children) {
  return el('section', { class: 'panel' }, el('h2', {}, title), ...children);
}

/** A plain table: headers and rows of cells (strings or nodes); numeric columns right-aligned. */
export function simpleTable(headers, rows, numeric = () => false) {
  return el(
    'table',
    { class: 'data' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        headers.map((h, i) => el('th', { class: numeric(i) ? 'n' : null }, h)),
      ),
    ),
    el(
      'tbody',
      {},
      rows.map((r) =>
        el(
          'tr',
          {},
          r.map((c, i) => el('td', { class: numeric(i) ? 'n' : null }, c)),
        ),
      ),
    ),
  );
}
