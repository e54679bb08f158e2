import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatMetric } from './format';
import type { Run } from './read';
import { loadVega } from './vega';
import { DASHES, seriesStyle, type LeftOut } from './plot-style';

/**
 * `pipeline plot --out curves.html`: one self-contained page (no network):
 * Vega's runtime inlined, one chart per metric laid out in a grid that fits the
 * window, a shared legend whose checkboxes hide and show runs in every chart,
 * tooltips and a highlighted line under the pointer, and a summary table.
 * `#hide=RUN,RUN` in the address starts with those runs hidden.
 */

export interface PageInput {
  title: string;
  /** One vega-lite spec per metric (responsive, no legend of its own). */
  panels: object[];
  metrics: string[];
  runs: Run[];
  labels: Map<Run, string>;
  leftOut: LeftOut[];
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON or a script inside <script>: no `</script` (or `<!--`) can end it early. */
function scriptSafe(s: string): string {
  return s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

let vegaSource: string | undefined;

function vegaRuntime(): string {
  vegaSource ??= fs.readFileSync(path.join(path.dirname(require.resolve('vega')), 'vega.min.js'), 'utf8');
  return vegaSource;
}

/** A short line in the series' colour and dash, for the legend. */
function swatch(i: number): string {
  const { color, dash } = seriesStyle(i);
  const dashAttr = dash === DASHES[0] ? '' : ` stroke-dasharray="${dash.join(' ')}"`;
  return `<svg width="28" height="10" aria-hidden="true"><line x1="1" y1="5" x2="27" y2="5" stroke="${color}" stroke-width="2.5"${dashAttr}/></svg>`;
}

function summaryTable(o: PageInput): string {
  // "At best": every metric at the one epoch the run's selection metric (summary.json's bestBy) chose.
  const bys = [...new Set(o.runs.map((r) => r.mainMetric().name))];
  const bestHead = (m: string) => (bys.length === 1 ? `${m} at best ${bys[0]}` : `${m} at best epoch`);
  const head = ['run', 'status', 'epochs', 'best epoch (by)', ...o.metrics.flatMap((m) => [`final ${m}`, bestHead(m)])];
  const rows = o.runs.map((r) => {
    const final = r.finalMetrics();
    const best = r.bestMetrics();
    const chosen = best ? `${best.epoch} (${r.mainMetric().name})` : '—';
    return [
      o.labels.get(r) ?? r.id,
      r.status(),
      String(final?.epoch ?? '—'),
      chosen,
      ...o.metrics.flatMap((m) => [formatMetric(final?.[m]), formatMetric(best?.[m])]),
    ];
  });
  const td = (c: string, i: number) => `<td${i >= 2 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`;
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

const STYLE = `body{font-family:sans-serif;margin:1.5em;color:#222}
#legend{display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.5em 0 1em}
#legend label{cursor:pointer;white-space:nowrap}#legend svg{vertical-align:middle;margin:0 .3em}
#panels{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1.5em}
#panels h2{font-size:1em;font-weight:normal;margin:0 0 .3em}.chart{width:100%}
.note{color:#666}table{border-collapse:collapse;margin-top:1.5em}
th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}`;

/** Draws every panel, wires the legend checkboxes to each chart's `hidden` signal, marks the page ready. */
const SCRIPT = `(function () {
  var specs = JSON.parse(document.getElementById('specs').textContent);
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#legend input'));
  var m = /hide=([^&]*)/.exec(location.hash);
  var start = m ? m[1].split(',').map(decodeURIComponent) : [];
  boxes.forEach(function (b) { if (start.indexOf(b.dataset.run) >= 0) b.checked = false; });
  Promise.all(specs.map(function (spec, i) {
    return new vega.View(vega.parse(spec), { renderer: 'svg', container: '#panel-' + i, hover: true }).runAsync();
  })).then(function (views) {
    function update() {
      var hidden = boxes.filter(function (b) { return !b.checked; }).map(function (b) { return b.dataset.series; });
      return Promise.all(views.map(function (v) { return v.signal('hidden', hidden).runAsync(); }));
    }
    boxes.forEach(function (b) { b.addEventListener('change', update); });
    return update();
  }).then(function () { document.body.dataset.ready = 'true'; }, function (err) {
    document.body.dataset.ready = 'error';
    document.getElementById('panels').textContent = 'could not draw the charts: ' + err;
  });
})();`;

export async function htmlPage(o: PageInput): Promise<string> {
  const { compile } = await loadVega();
  const specs = o.panels.map((p) => compile(p).spec);
  const legend = o.runs
    .map((r, i) => {
      const label = o.labels.get(r) ?? r.id;
      return `<label><input type="checkbox" checked data-run="${escapeHtml(r.id)}" data-series="${escapeHtml(label)}">${swatch(i)}${escapeHtml(label)}</label>`;
    })
    .join('\n');
  const note = o.leftOut.length
    ? `<p class="note">left out: ${o.leftOut.map((l) => `${escapeHtml(l.run)} (${escapeHtml(l.why)})`).join(', ')}</p>\n`
    : '';
  const panels = o.metrics
    .map((m, i) => `<section><h2>${escapeHtml(m)}</h2><div class="chart" id="panel-${i}"></div></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<style>${STYLE}</style>
</head><body>
<h1>${escapeHtml(o.title)}</h1>
${note}<div id="legend">
${legend}
</div>
<div id="panels">
${panels}
</div>
${summaryTable(o)}
<script id="specs" type="application/json">${scriptSafe(JSON.stringify(specs))}</script>
<script>${scriptSafe(vegaRuntime())}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
