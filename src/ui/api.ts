import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { diffRuns, seedSentence, type DiffReport } from '../runs/diff';
import { listTable } from '../runs/ls';
import { overlayPoints, runCurvePoints, type CurvePoint } from '../runs/plot';
import { listExperimentNames, listVersions, readJsonIfExists, Run } from '../runs/read';
import { metricColumns, showReport, type ShowReport } from '../runs/show';
import { CONFIG_YAML, EVALUATION_JSON } from '../run-format/names';
import { readTextIfExists } from '../run-format/read';
import { listedRunDamage, runDamage } from './damage';
import { listRunFiles, type RunFile } from './files';
import { NotFound } from './http-errors';

/**
 * The dashboard's JSON API: the same readers and the same choices as the CLI
 * (`ls` picks the columns, `show` the run's facts, `diff` the changes and the
 * seed-noise verdict, `plot` the curve points), shaped for the page.
 */

export interface RunsPayload {
  root: string;
  columns: Array<{ key: string; header: string; kind: 'text' | 'number' }>;
  rows: Array<{
    run: string;
    name: string;
    version: number;
    status: string;
    /** The sweep this run is a trial of (`tiny/sweeps/1`), else null. */
    sweep: string | null;
    damage: string[];
    /** Raw values (for sorting), one per column. */
    values: unknown[];
    /** Cells as `pipeline ls` prints them. */
    cells: string[];
  }>;
}

export function runsPayload(root: string): RunsPayload {
  // Every run, sweep trials included: the page groups them by sweep itself.
  const result = listTable({ root, sweeps: true });
  return {
    root,
    columns: result.columns.map((c) => ({ key: c.key, header: c.header, kind: c.kind })),
    rows: result.rows.map((r) => {
      const values = result.columns.map((c) => c.value(r) ?? null);
      return {
        run: r.run,
        name: r.name,
        version: r.version,
        status: r.status,
        sweep: r.tags.sweep === undefined ? null : String(r.tags.sweep),
        damage: listedRunDamage(r.dir, r.status),
        values: values.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
        cells: result.columns.map((c, i) => c.format(values[i] ?? undefined)),
      };
    }),
  };
}

/** A run named by its folder's name and version; only folders the listing shows exist here. */
export function findRun(root: string, name: string, version: string): Run {
  if (
    !/^[1-9][0-9]*$/.test(version) ||
    !listExperimentNames(root).includes(name) ||
    !listVersions(root, name).includes(Number(version))
  ) {
    throw new NotFound(`no run ${name}/${version}`);
  }
  return new Run(path.join(root, name, version), name, Number(version));
}

export interface RunPayload extends ShowReport {
  damage: string[];
  /** config.yaml as written, and the resolved config as YAML. */
  configYaml: string | null;
  resolvedYaml: string | null;
  metricNames: string[];
  curves: { points: CurvePoint[]; panels: string[]; splits: string[] };
  files: RunFile[];
  /** `pipeline eval --save`'s report, when the folder has one. */
  evaluation: unknown;
}

export function runPayload(root: string, name: string, version: string): RunPayload {
  const run = findRun(root, name, version);
  const report = showReport(run);
  // Absent in a run claimed but never filled.
  const configYaml = readTextIfExists(path.join(run.dir, CONFIG_YAML)) ?? null;
  return {
    ...report,
    dir: path.relative(root, run.dir),
    damage: runDamage(run),
    configYaml,
    resolvedYaml: report.resolved ? toYaml(report.resolved) : null,
    metricNames: metricColumns(report.metrics).filter((k) => k !== 'epoch'),
    curves: runCurvePoints(report.metrics),
    files: listRunFiles(root, run.dir),
    evaluation: readJsonIfExists(path.join(run.dir, EVALUATION_JSON)) ?? null,
  };
}

export interface ComparePayload {
  runs: Array<{ run: string; status: string }>;
  metrics: string[];
  points: CurvePoint[];
  /** The first run against each of the others, as `pipeline diff` reports it. */
  diffs: Array<DiffReport & { seedVerdict: string | null }>;
}

export function comparePayload(root: string, ids: string[]): ComparePayload {
  const runs: Run[] = [];
  for (const id of ids) {
    const m = /^(.+)\/([^/]+)$/.exec(id);
    if (!m) throw new NotFound(`no run ${id}: expected NAME/VERSION`);
    const run = findRun(root, m[1], m[2]);
    if (!runs.some((r) => r.dir === run.dir)) runs.push(run);
  }
  const metrics = metricColumns(runs.flatMap((r) => r.metrics())).filter((k) => k !== 'epoch');
  return {
    runs: runs.map((r) => ({ run: r.id, status: r.status() })),
    metrics,
    points: metrics.length ? overlayPoints(runs, metrics) : [],
    diffs: runs.slice(1).map((b) => {
      const d = diffRuns(runs[0], b);
      return {
        ...d,
        a: { ...d.a, dir: path.relative(root, d.a.dir) },
        b: { ...d.b, dir: path.relative(root, d.b.dir) },
        seedVerdict: d.seedSpread ? seedSentence(d.seedSpread, d.a.run, d.b.run) : null,
      };
    }),
  };
}
