import { fill, el } from './dom.js';
import { showCompare } from './compare-view.js';
import { showRun } from './run-view.js';
import { showRuns } from './runs-view.js';
import { showSweep, showSweeps } from './sweeps-view.js';

// Routes (in the URL's hash, so any view can be bookmarked and reloaded):
//   #/                     runs table
//   #/run/NAME/VERSION     one run
//   #/compare?run=A&run=B  runs overlaid and diffed
//   #/sweeps, #/sweep/NAME/N
// Live: the server's event stream names changed runs and sweeps; the view showing any
// of them is fetched again in place (no page reload).

const main = document.getElementById('view');
let current = { kind: 'runs', runs: [] };
let rendering = Promise.resolve();

function parseRoute() {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'run' && parts.length === 3)
    return { kind: 'run', name: parts[1], version: parts[2], runs: [`${parts[1]}/${parts[2]}`] };
  if (parts[0] === 'compare') return { kind: 'compare', runs: new URLSearchParams(query).getAll('run') };
  if (parts[0] === 'sweeps') return { kind: 'sweeps', runs: [] };
  if (parts[0] === 'sweep' && parts.length === 3) return { kind: 'sweep', name: parts[1], n: parts[2], runs: [] };
  return { kind: 'runs', runs: [] };
}

async function render(route) {
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle(
      'active',
      a.dataset.view === route.kind || (a.dataset.view === 'sweeps' && route.kind === 'sweep'),
    );
  try {
    if (route.kind === 'run') await showRun(main, route.name, route.version);
    else if (route.kind === 'compare') await showCompare(main, route.runs);
    else if (route.kind === 'sweeps') await showSweeps(main);
    else if (route.kind === 'sweep') await showSweep(main, route.name, route.n);
    else await showRuns(main);
    document.body.dataset.ready = 'true';
  } catch (err) {
    fill(main, el('h1', {}, 'Not available'), el('p', { class: 'warning', id: 'error' }, err.message));
  }
}

/** One render at a time, in order: a live refresh never interleaves with a navigation. */
function rerender(route = current) {
  rendering = rendering.then(() => {
    if (route !== current) return;
    const y = window.scrollY;
    return render(route).then(() => window.scrollTo(0, y));
  });
  return rendering;
}

function navigate() {
  current = parseRoute();
  document.body.dataset.ready = 'false';
  rendering = rendering.then(() => render(current));
}

/** A change concerns the view when it names a run the view shows; tables and sweeps show them all. */
function concerns(route, changes) {
  if (route.kind === 'runs' || route.kind === 'sweeps' || route.kind === 'sweep')
    return changes.runs.length + changes.sweeps.length > 0;
  return changes.runs.some((id) => route.runs.includes(id));
}

function listen() {
  const events = new EventSource('/api/events');
  let pending = null;
  events.addEventListener('changes', (e) => {
    const changes = JSON.parse(e.data);
    if (!concerns(current, changes) || pending) return;
    // Several files of a run change together (metrics.jsonl, then meta.json): refresh once.
    pending = setTimeout(() => {
      pending = null;
      rerender();
    }, 150);
  });
}

window.addEventListener('hashchange', navigate);
navigate();
listen();
