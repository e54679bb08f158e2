import type { Command } from 'commander';
import { withBoundary } from '../boundary';
import { collect } from '../options';
import { EXIT, UsageError } from '../../errors';
import { resolveRunsRoot } from '../../runs/read';
import { formatValue } from '../../runs/flatten';
import { renderText } from '../../runs/table';
import { leaderboard, leaderboardTable, sweepSummaryLine } from '../../runs/sweep/leaderboard';
import { pipelineScript, prepareSweep, resumeSweep, startSweep } from '../../runs/sweep/sweep';
import { resolveSweep, type SweepState } from '../../runs/sweep/state';
import { isQueued, type QueuedSweepState } from '../../runs/sweep/queue/records';
import { queueFrom, parseQueueUrl, hideQueueFromPs, type QueueAddress } from '../../runs/sweep/queue/url';
import type { QueueSettings } from '../../runs/sweep/queue/submit';

/** BullMQ and ioredis load only for queued sweeps: a local sweep starts as fast as before. */
const submit = (): typeof import('../../runs/sweep/queue/submit') => require('../../runs/sweep/queue/submit');
const status = (): typeof import('../../runs/sweep/queue/status') => require('../../runs/sweep/queue/status');

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
  queue?: string;
  attempts?: string;
  backoff?: string;
  status?: string;
}

const QUEUE_HELP = `
On several machines (a queued sweep):
  1. Start Redis with persistence where every machine can reach it:
       redis-server --appendonly yes --requirepass SECRET --bind 0.0.0.0
  2. On each machine, with the data in place, start workers:
       PIPELINE_QUEUE=redis://:SECRET@HOST:6379 pipeline worker --concurrency 2 --data-dir data
  3. Run the sweep from any machine; it validates every trial, queues them and follows them:
       PIPELINE_QUEUE=redis://:SECRET@HOST:6379 pipeline sweep FILE --method tpe --trials 30 --parallel 4
  4. Watch it from anywhere: pipeline sweep --status NAME/sweeps/N
  5. Gather the runs: rsync -a WORKER:runs/ gathered/WORKER/ for each worker, then
       pipeline collect gathered/*     (each run gets the next free version here)`;

export function registerSweep(program: Command): void {
  const command = program
    .command('sweep')
    .description(
      'run a hyperparameter sweep (grid, random or tpe): every trial validated first, N at a time here or on workers through a queue, resumable',
    )
    .argument('[file]', 'experiment YAML file (its `sweep:` section, and/or --param)');
  addSearchOptions(command);
  addRunOptions(command);
  command.addHelpText('after', QUEUE_HELP).action(async (file: string | undefined, opts: SweepCliFlags) => {
    process.exitCode = await withBoundary(() => sweepAction(file, opts));
  });
}

/** What is swept and how trials are chosen, ranked and stopped. */
function addSearchOptions(command: Command): void {
  command
    .option('--param <key=values>', 'a swept key: key=a,b,c or key=MIN..MAX[:log][:int] (repeatable)', collect, [])
    .option(
      '--method <method>',
      'grid (every combination), random, or tpe (random startup trials, then learns from results)',
    )
    .option('--trials <n>', 'cap on trials (random: how many to draw, default 10)')
    .option('--parallel <n>', 'trials run at once (default 1); with --queue and tpe: trials on the queue at once')
    .option(
      '--metric <name>',
      'metric that ranks trials (default: the selection metric, training.selectBy or the validation metric)',
    )
    .option('--goal <goal>', 'max or min (default: from the metric)')
    .option(
      '--early-stop [rule]',
      'median: stop trials worse than the median of the others at the same epoch; asha: successive halving at epochs 1, 3, 9, ...',
    )
    .option('--set <key=value>', 'override a value in every trial (repeatable)', collect, []);
}

/** Where and how the trials run, and what is printed. */
function addRunOptions(command: Command): void {
  command
    .option('--runs-dir <dir>', 'runs root (default: $PIPELINE_RUNS_DIR or ./runs)')
    .option('--data-dir <dir>', 'passed to each pipeline run')
    .option('--backend <name>', 'passed to each pipeline run')
    .option('--resume <sweep>', 'run what did not complete in a sweep (NAME/sweeps/N or its folder)')
    .option('--dry-run', 'validate and print the trials; run nothing, create nothing')
    .option('--json', 'print the plan (with --dry-run) or the leaderboard as JSON')
    .option(
      '--queue <url>',
      'put the trials on a Redis queue for `pipeline worker`s: redis://[user:password@]host:port[/db] or rediss:// (default: $PIPELINE_QUEUE; prefer it for a password)',
    )
    .option('--attempts <n>', 'with --queue: attempts per trial that fails on its own (default 3)')
    .option('--backoff <seconds>', 'with --queue: wait before the 2nd attempt, doubling after (default 10)')
    .option(
      '--status <sweep>',
      "print a sweep's leaderboard as it stands (a queued sweep's from Redis, from any machine)",
    );
}

/** What every way of running a sweep needs: the runs root, the log, the local runner and the queue (if any). */
interface SweepContext {
  root: string;
  log: (line: string) => void;
  runner: { script: string; log: (line: string) => void };
  queued?: QueueSettings;
}

/** `--status`, `--resume` or a new sweep; the exit code from the sweep's end state. */
async function sweepAction(file: string | undefined, opts: SweepCliFlags): Promise<number | undefined> {
  const root = resolveRunsRoot(opts.runsDir);
  const log = (line: string) => process.stderr.write(line + '\n');
  const runner = { script: pipelineScript(), log };
  const address = queueFrom(opts.queue);
  if (address) hideQueueFromPs();
  const queued = address && {
    address,
    attempts: countFlag('attempts', opts.attempts, 3, 1),
    backoffSeconds: countFlag('backoff', opts.backoff, 10, 0),
    log,
  };
  const ctx: SweepContext = { root, log, runner, queued };
  if (opts.status) {
    if (file || opts.resume)
      throw new UsageError('--status takes only the sweep: pipeline sweep --status NAME/sweeps/N');
    await printStatus(opts.status, root, address, !!opts.json);
    return undefined;
  }
  const state = opts.resume
    ? await resumeFromFlags(file, opts.resume, opts, ctx)
    : await startFromFlags(file, opts, ctx);
  if (!state) return undefined; // a dry run printed its plan
  printOutcome(state, !!opts.json);
  return state.status === 'completed' ? EXIT.ok : EXIT.runFailed;
}

/** `--resume SWEEP`: a queued sweep through its queue (the recorded one unless --queue names another), else here. */
async function resumeFromFlags(
  file: string | undefined,
  ref: string,
  opts: SweepCliFlags,
  ctx: SweepContext,
): Promise<SweepState> {
  if (file) throw new UsageError('--resume takes the sweep, not a file: pipeline sweep --resume NAME/sweeps/N');
  if (opts.dryRun) throw new UsageError('--dry-run plans a new sweep; it does not combine with --resume');
  const parallel = opts.parallel === undefined ? undefined : Number(opts.parallel);
  if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1))
    throw new UsageError(`--parallel must be a whole number >= 1, got "${opts.parallel}"`);
  const local = resolveSweep(ref, ctx.root);
  if (!isQueued(local)) return resumeSweep(ref, ctx.root, { parallel }, ctx.runner);
  if (parallel !== undefined) local.spec.parallel = parallel;
  return submit().resumeQueuedSweep(
    local,
    ctx.queued ?? {
      address: recordedQueue(local),
      attempts: local.queue.attempts,
      backoffSeconds: local.queue.backoffSeconds,
      log: ctx.log,
    },
  );
}

/** A new sweep of FILE: planned and validated, then printed (--dry-run), queued (--queue) or run here. */
async function startFromFlags(
  file: string | undefined,
  opts: SweepCliFlags,
  ctx: SweepContext,
): Promise<SweepState | undefined> {
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
    return undefined;
  }
  const backend = opts.backend ? ['--backend', opts.backend] : [];
  if (!ctx.queued) {
    const runArgs = [...(opts.dataDir ? ['--data-dir', opts.dataDir] : []), ...backend];
    return startSweep(prepared, ctx.root, runArgs, ctx.runner);
  }
  // --data-dir is each worker's own (pipeline worker --data-dir).
  if (opts.dataDir) throw new UsageError('--data-dir is for the workers with --queue: pipeline worker --data-dir DIR');
  return submit().startQueuedSweep(prepared, ctx.root, backend, ctx.queued);
}

/** The leaderboard once the sweep ended: a table and a summary line, or JSON. */
function printOutcome(state: SweepState, json: boolean): void {
  if (json) {
    const { id, dir, status, spec } = state;
    process.stdout.write(
      JSON.stringify(
        { id, dir, status, metric: spec.metric, goal: spec.goal, leaderboard: leaderboard(state) },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  process.stdout.write(renderText(leaderboardTable(state)) + '\n');
  process.stdout.write(sweepSummaryLine(state) + '\n');
}

/** The queue a sweep.json names; without its password, which the user must give again. */
function recordedQueue(state: QueuedSweepState): QueueAddress {
  if (state.queue.address.includes(':***@')) {
    throw new UsageError(
      `sweep ${state.id} ran through ${state.queue.address}: give the address with its password in $PIPELINE_QUEUE (or --queue)`,
    );
  }
  return parseQueueUrl(state.queue.address, 'sweep.json');
}

function countFlag(name: string, raw: string | undefined, dflt: number, min: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${raw}"`);
  return n;
}

async function printStatus(ref: string, root: string, address: QueueAddress | undefined, json: boolean): Promise<void> {
  let local: SweepState | undefined;
  try {
    local = resolveSweep(ref, root);
  } catch (err) {
    // Not in this runs folder: a queued sweep can still be read from Redis by its id.
    if (!address || !/^[^/]+\/sweeps\/[1-9][0-9]*$/.test(ref)) throw err;
  }
  const id = local?.id ?? ref;
  const queueAddr = address ?? (local && isQueued(local) ? recordedQueue(local) : undefined);
  const s = await status().queuedStatus(id, local, queueAddr);
  if (json) {
    process.stdout.write(
      JSON.stringify(
        {
          id,
          status: s.state.status,
          metric: s.state.spec.metric,
          goal: s.state.spec.goal,
          leaderboard: leaderboard(s.state),
        },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  process.stdout.write(renderText(leaderboardTable(s.state)) + '\n');
  for (const line of status().runningLines(s)) process.stdout.write(line + '\n');
  process.stdout.write(sweepSummaryLine(s.state) + '\n');
}

function printPlan(p: ReturnType<typeof prepareSweep>, json: boolean): void {
  const keys = Object.keys(p.spec.parameters);
  if (json) {
    process.stdout.write(
      JSON.stringify(
        { name: p.base.experiment.name, spec: p.spec, gridSize: p.plan.gridSize ?? null, trials: p.plan.trials },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  const table = {
    columns: [
      { header: 'trial', align: 'right' as const },
      ...keys.map((k) => ({ header: k, align: 'right' as const })),
    ],
    rows: p.plan.trials.map((t) => [String(t.index), ...keys.map((k) => formatValue(t.params[k]))]),
  };
  process.stdout.write(renderText(table) + '\n');
  const n = p.plan.trials.length;
  const capped =
    p.plan.gridSize !== undefined && p.plan.gridSize > n ? ` (grid of ${p.plan.gridSize}, capped by trials)` : '';
  process.stdout.write(
    `${n} trial${n === 1 ? '' : 's'}${capped}, ${p.spec.method}, all valid; would run ${p.spec.parallel} at a time, ranked by ${p.spec.metric} (${p.spec.goal})` +
      `${p.spec.earlyStopping ? `, ${p.spec.earlyStopping.type} early stopping after ${p.spec.earlyStopping.minEpochs} epoch(s)` : ''}` +
      `${p.spec.method === 'tpe' ? `; trials after the first 10 to finish are chosen by TPE when they start` : ''}\n`,
  );
}
