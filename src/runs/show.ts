import { Document, isScalar, isSeq, visit } from 'yaml';
import { formatNumber, mergeKeyOrder } from './flatten';
import { formatDuration, formatMetric, formatStarted } from './format';
import type { Run } from './read';
import { renderText, type Table } from './table';
import { META_JSON, RESOLVED_JSON } from '../run-format/names';
import type { MetricsRow, RunStatus, StoredMeta } from '../run-format/types';

/** `pipeline show RUN`: everything about one run, for a person (text) or a program (--json). */

export interface ShowReport {
  run: string;
  dir: string;
  status: RunStatus;
  meta: StoredMeta | null;
  overrides: string[];
  resolved: Record<string, unknown> | null;
  metrics: MetricsRow[];
  final: MetricsRow | null;
  best: MetricsRow | null;
  bestBy: string;
}

export function showReport(run: Run): ShowReport {
  return {
    run: run.id,
    dir: run.dir,
    status: run.status(),
    meta: run.meta() ?? null,
    overrides: run.overrides(),
    resolved: run.resolved() ?? null,
    metrics: run.metrics(),
    final: run.finalMetrics() ?? null,
    best: run.bestMetrics() ?? null,
    bestBy: run.summary()?.bestBy ?? run.mainMetric().name,
  };
}

/** Metric columns in a fixed, readable order; anything else a run recorded follows. */
const METRIC_ORDER = [
  'epoch',
  'loss',
  'accuracy',
  'valLoss',
  'valAccuracy',
  'testLoss',
  'testAccuracy',
  'learningRate',
  'seconds',
  'samplesPerSecond',
];

export function metricColumns(rows: MetricsRow[]): string[] {
  const seen = mergeKeyOrder(...rows.map((r) => Object.keys(r)));
  return [...METRIC_ORDER.filter((k) => seen.includes(k)), ...seen.filter((k) => !METRIC_ORDER.includes(k))];
}

export function metricsTable(rows: MetricsRow[]): Table {
  const cols = metricColumns(rows);
  return {
    columns: cols.map((c) => ({ header: c === 'samplesPerSecond' ? 'samples/s' : c, align: 'right' as const })),
    rows: rows.map((r) => cols.map((c) => formatMetricCell(c, r[c]))),
  };
}

/** Metric cells: throughput as whole numbers, seconds to a tenth, learning rates exact. */
export function formatMetricCell(name: string, v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return formatMetric(v);
  if (name === 'samplesPerSecond') return Math.round(v).toLocaleString('en-US');
  if (name === 'seconds') return v.toFixed(1);
  if (name === 'learningRate') return formatNumber(Number(v.toPrecision(6)));
  return formatMetric(v);
}

/** YAML with short lists of scalars on one line (`kernelSize: [3, 3]`), as people write them. */
export function configYaml(config: unknown): string {
  const doc = new Document(config);
  visit(doc, {
    Seq(_, node) {
      if (isSeq(node) && node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function metricLine(row: MetricsRow | null, keys: string[]): string {
  if (!row) return '—';
  return [
    `epoch ${row.epoch}`,
    ...keys.filter((k) => typeof row[k] === 'number').map((k) => `${k} ${formatMetric(row[k])}`),
  ].join(', ');
}

export function formatShow(r: ShowReport): string {
  const m = r.meta;
  const lines: string[] = [];
  const field = (label: string, value: string | undefined | null) => {
    if (value !== undefined && value !== null && value !== '') lines.push(`${label.padEnd(10)} ${value}`);
  };
  field('run', `${r.run}  (${r.dir})`);
  field(
    'status',
    r.status === 'crashed' ? `crashed (${META_JSON} says running, but process ${m?.pid} is gone)` : r.status,
  );
  if (m?.error) field('error', m.error);
  field(
    'started',
    `${formatStarted(m?.startedAt)}   duration ${formatDuration(m?.durationSeconds)}${m?.endedAt ? `   ended ${formatStarted(m.endedAt)}` : ''}`,
  );
  field('command', m?.command?.join(' '));
  field('overrides', r.overrides.join('  '));
  field(
    'backend',
    m?.backend
      ? `${m.backend}${m.backendReason ? ` (${m.backendReason})` : ''}${m.workers ? `, ${m.workers} worker${m.workers === 1 ? '' : 's'}` : ''}`
      : undefined,
  );
  field('seed', m?.seed === undefined ? undefined : String(m.seed));
  if (m?.dataset) {
    const c = m.dataset.counts;
    const counts = c
      ? Object.entries(c)
          .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
          .join(', ')
      : '';
    field(
      'dataset',
      [m.dataset.name, m.dataset.fingerprint ? `fingerprint ${m.dataset.fingerprint.slice(0, 16)}` : '', counts]
        .filter(Boolean)
        .join('; '),
    );
  }
  field(
    'versions',
    m?.versions
      ? Object.entries(m.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : undefined,
  );
  field('git', m?.git ? `${m.git.commit.slice(0, 12)}${m.git.dirty ? ' (dirty)' : ''}` : undefined);
  field('host', m?.host ? `${m.host}${m.cpus ? ` (${m.cpus} CPUs)` : ''}${m.pid ? `, pid ${m.pid}` : ''}` : undefined);
  field(
    'tags',
    m?.tags
      ? Object.entries(m.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
      : undefined,
  );
  field('warm start', m?.init ? `from ${m.init.from}: ${m.init.layers.join(', ')}` : undefined);
  field(
    'extended',
    m?.extensions?.map((x) => `${x.fromEpochs} -> ${x.toEpochs} epochs (${formatStarted(x.at)})`).join('; '),
  );

  lines.push('', 'config (resolved):');
  lines.push(r.resolved ? indent(configYaml(r.resolved).trimEnd()) : `  (no ${RESOLVED_JSON})`);

  lines.push('', `metrics (${r.metrics.length} epoch${r.metrics.length === 1 ? '' : 's'}):`);
  lines.push(r.metrics.length ? indent(renderText(metricsTable(r.metrics))) : '  (none recorded)');

  const keys = metricColumns([...(r.final ? [r.final] : []), ...(r.best ? [r.best] : [])]).filter(
    (k) => /loss|accuracy|^val|^test/i.test(k) && k !== 'epoch',
  );
  lines.push('');
  field('final', metricLine(r.final, keys));
  field('best', r.best ? `${metricLine(r.best, keys)}  (by ${r.bestBy})` : '—');
  return lines.join('\n') + '\n';
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}
