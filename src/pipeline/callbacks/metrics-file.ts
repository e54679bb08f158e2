import { MetricsWriter } from '../../run-format/write';
import type { MainMetric, Summary } from '../../run-format/types';
import type { Callback, EpochRow } from '../types';

/** metrics.jsonl and summary.json after every epoch (the writing is run-format/write.ts's). */
export class MetricsFileCallback implements Callback {
  readonly name = 'metrics';
  private readonly writer: MetricsWriter;

  constructor(
    runDir: string,
    by: MainMetric,
    /** Rows already in metrics.jsonl (a resumed run), so `best` covers the whole run. */
    previous: readonly EpochRow[] = [],
  ) {
    this.writer = new MetricsWriter(runDir, by, previous);
  }

  onEpochEnd(row: EpochRow): void {
    this.writer.append(row);
  }

  summary(): Summary | undefined {
    return this.writer.summary();
  }
}
