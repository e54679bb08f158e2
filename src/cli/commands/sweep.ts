import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { EXIT, UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { formatValue } from '../../runs/flatten';
import { renderText } from '../../runs/table';
import { leaderboard, leaderboardTable, sweepSummaryLine } from '../../runs/sweep/leaderboard';
import { pipelineScript, prepareSweep, resumeSweep, startSweep } from '../../runs/sweep/sweep';
import type { SweepState } from '../../runs/sweep/state';

interface SweepCliFlags {
  param: string[];
  set: string[];
  method?: string;
  trials?: string;
  parallel?: string;
  metric?: string;
  goal?: string;
  earlyStop?: boolean | string;
  runsDir?: string;
  dataDir?: string;
  backend?: string;
  resume?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('run a hyperparameter sweep (grid or random): every trial validated first, N at a time, resumable')
    .argument('[file]', 'experiment YAML file (its `sweep:` section, and/or --param)')
    .option('--param <key=values>', 'a swept key: key=a,b,c or key=MIN..MAX[:log][:int] (repeatable)', collect, [])
    .option('--method <method>', 'grid (every combination) or random')
    .option('--trials <n>', 'cap on trials (random: how many to draw, default 10)')
    .option('--parallel <n>', 'trials run at once (default 1)')
    .option('--metric <name>', 'metric that ranks trials (default: the selection metric, training.selectBy or the validation metric)')
    .option('--goal <goal>', 'max or min (default: from the metric)')
    .option('--early-stop [rule]', 'stop trials worse than the median of the others at the same epoch (rule: median)')
    .option('--set <key=value>', 'override a value in every trial (repeatable)', collect, [])
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--data-dir <dir>', 'passed to each pipeline run')
    .option('--backend <name>', 'passed to each pipeline run')
    .option('--resume <sweep>', 'run what did not complete in a sweep (NAME/sweeps/N or its folder)')
    .option('--dry-run', 'validate and print the trials; run nothing, create nothing')
    .option('--json', 'print the plan (with --dry-run) or the leaderboard as JSON')
    .action(async (file: string | undefined, opts: SweepCliFlags) => {
      process.exitCode = await withBoundary(async () => {
        const root = resolveRunsRoot(opts.runsDir);
        const log = (line: string) => process.stderr.write(line + '\n');
        const runner = { script: pipelineScript(), log };
        let state: SweepState;
        if (opts.resume) {
          if (file) throw new UsageError('--resume takes the sweep, not a file: pipeline sweep --resume NAME/sweeps/N');
          if (opts.dryRun) throw new UsageError('--dry-run plans a new sweep; it does not combine with --resume');
          const parallel = opts.parallel === undefined ? undefined : Number(opts.parallel);
          if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) throw new UsageError(`--parallel must be a whole number >= 1, got "${opts.parallel}"`);
          state = await resumeSweep(opts.resume, root, { parallel }, runner);
        } else {
          if (!file) throw new UsageError('give an experiment file (pipeline sweep FILE), or --resume SWEEP');
          const prepared = prepareSweep(file, opts.set, {
            params: opts.param,
            method: opts.method,
            trials: opts.trials,
            parallel: opts.parallel,
            metric: opts.metric,
            goal: opts.goal,
            earlyStop: opts.earlyStop,
          });
          if (opts.dryRun) {
            printPlan(prepared, !!opts.json);
            return;
          }
          const runArgs = [...(opts.dataDir ? ['--data-dir', opts.dataDir] : []), ...(opts.backend ? ['--backend', opts.backend] : [])];
          state = await startSweep(prepared, root, runArgs, runner);
        }
        if (opts.json) {
          const { id, dir, status, spec } = state;
          process.stdout.write(JSON.stringify({ id, dir, status, metric: spec.metric, goal: spec.goal, leaderboard: leaderboard(state) }, null, 2) + '\n');
        } else {
          process.stdout.write(renderText(leaderboardTable(state)) + '\n');
          process.stdout.write(sweepSummaryLine(state) + '\n');
        }
        return state.status === 'completed' ? EXIT.ok : EXIT.runFailed;
      });
    });
}

function printPlan(p: ReturnType<typeof prepareSweep>, json: boolean): void {
  const keys = Object.keys(p.spec.parameters);
  if (json) {
    process.stdout.write(JSON.stringify({ name: p.base.experiment.name, spec: p.spec, gridSize: p.plan.gridSize ?? null, trials: p.plan.trials }, null, 2) + '\n');
    return;
  }
  const table = {
    columns: [{ header: 'trial', align: 'right' as const }, ...keys.map((k) => ({ header: k, align: 'right' as const }))],
    rows: p.plan.trials.map((t) => [String(t.index), ...keys.map((k) => formatValue(t.params[k]))]),
  };
  process.stdout.write(renderText(table) + '\n');
  const n = p.plan.trials.length;
  const capped = p.plan.gridSize !== undefined && p.plan.gridSize > n ? ` (grid of ${p.plan.gridSize}, capped by trials)` : '';
  process.stdout.write(
    `${n} trial${n === 1 ? '' : 's'}${capped}, ${p.spec.method}, all valid; would run ${p.spec.parallel} at a time, ranked by ${p.spec.metric} (${p.spec.goal})` +
      `${p.spec.earlyStopping ? `, median early stopping after ${p.spec.earlyStopping.minEpochs} epoch(s)` : ''}\n`,
  );
}
