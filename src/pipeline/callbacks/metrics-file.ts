import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../util/atomic';
import { improves } from '../metric-names';
import type { Callback, EpochRow } from '../types';

export const METRICS_JSONL = 'metrics.jsonl';
export const SUMMARY_JSON = 'summary.json';

export interface Summary {
  final: EpochRow;
  /** The epoch selected by `bestBy` (training.selectBy): every metric in it is that epoch's, not each metric's own best. */
  best: EpochRow;
  /** The one place that says which metric selected the best epoch, and which way is better. */
  bestBy: string;
  bestGoal: 'max' | 'min';
  epochs: number;
}

/** The row with the best value of `by` (the first of equals), or the last row when none has a finite value. */
export function summarize(rows: readonly EpochRow[], by: { name: string; goal: 'max' | 'min' }): Summary | undefined {
  if (rows.length === 0) return undefined;
  let best: EpochRow | undefined;
  for (const r of rows) if (improves(r[by.name], best?.[by.name], by.goal)) best = r;
  return {
    final: rows[rows.length - 1],
    best: best ?? rows[rows.length - 1],
    bestBy: by.name,
    bestGoal: by.goal,
    epochs: rows.length,
  };
}

/**
 * metrics.jsonl (one appended line per epoch; a single write, so a reader never sees
 * half a line unless the process dies inside that write, and readers skip such a last
 * line) and summary.json (atomic), after every epoch.
 */
export class MetricsFileCallback implements Callback {
  readonly name = 'metrics';
  private readonly rows: EpochRow[];

  constructor(
    private readonly runDir: string,
    private readonly by: { name: string; goal: 'max' | 'min' },
    /** Rows already in metrics.jsonl (a resumed run), so `best` covers the whole run. */
    previous: readonly EpochRow[] = [],
  ) {
    this.rows = [...previous];
  }

  onEpochEnd(row: EpochRow): void {
    fs.appendFileSync(path.join(this.runDir, METRICS_JSONL), JSON.stringify(row) + '\n');
    this.rows.push(row);
    writeFileAtomic(
      path.join(this.runDir, SUMMARY_JSON),
      JSON.stringify(summarize(this.rows, this.by), null, 2) + '\n',
    );
  }

  summary(): Summary | undefined {
    return summarize(this.rows, this.by);
  }
}
