/**
 * A `pipeline run` in a child process, on generated data: what process.test.ts sends
 * signals to. It goes through the same runExperiment, outcome report and error boundary
 * as the CLI (so the exit codes are the CLI's), only the dataset comes from memory.
 *
 * argv[2]: JSON ChildArgs. stdout: `batch <epoch> <batch>` after each batch when `report`
 * is set, then the CLI's --json result line.
 */
import { withBoundary } from '../../src/cli/boundary';
import { reportOutcome } from '../../src/cli/commands/run';
import { runExperiment } from '../../src/pipeline/run';
import type { Callback } from '../../src/pipeline/types';
import { BACKEND, syntheticDataset } from './helpers';

export interface ChildArgs {
  file?: string;
  resume?: string;
  runsDir?: string;
  train?: number;
  /** Print a line per batch. */
  report?: boolean;
  /**
   * After this batch, wait (up to 10 s) for a signal before going on, so the test's
   * signal lands at a known batch however loaded the machine is.
   */
  pauseAfter?: { epoch: number; batch: number };
}

const args = JSON.parse(process.argv[2]) as ChildArgs;
const signalled = () =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });

const pacer: Callback = {
  name: 'test-pacer',
  async onBatchEnd(info) {
    const pause = args.pauseAfter && args.pauseAfter.epoch === info.epoch && args.pauseAfter.batch === info.batch;
    const received = pause ? signalled() : undefined;
    if (args.report) process.stdout.write(`batch ${info.epoch} ${info.batch}\n`);
    await received;
  },
};

void (async () => {
  process.exitCode = await withBoundary(async () => {
    const outcome = await runExperiment({
      file: args.file,
      resume: args.resume,
      runsDir: args.runsDir,
      backend: args.resume ? undefined : BACKEND,
      dataset: syntheticDataset({ train: args.train }),
      callbacks: [pacer],
    });
    reportOutcome(outcome, true);
  });
})();
