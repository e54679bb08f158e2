import * as os from 'node:os';
import type { BackendName } from '../../backend';
import type { ResolvedExperiment } from '../../config/load';

/**
 * How many data-parallel replicas a run trains with (training.workers / --workers), and why.
 *
 * 'auto' takes every core when that is faster, which measurements on a 2-core machine
 * (BENCHMARKS.md) bound as follows:
 *  - shards of fewer than 8 rows: the fixed per-step cost (~150 kernel calls) dominates and
 *    two half steps take longer than one full step;
 *  - starting a worker (loading tfjs and its backend, building the model) costs 0.3-0.5 s of
 *    one core, which a run shorter than MIN_AUTO_SAMPLES training samples (a few seconds of
 *    training, of which workers save 15-40%) does not win back;
 *  - batch normalization takes its statistics over the whole batch on the direct step (the
 *    replicas gather them mid-step, src/engine/direct/batch-norm.ts); under tfjs's autograd each
 *    replica would normalize its own shard, which changes what the model learns, so there
 *    'auto' does not split such a model (an explicit count still does);
 *  - native tensorflow (tfjs-node) already spreads its kernels over the cores.
 */

export const MIN_SHARD_ROWS = 8;
export const MIN_AUTO_SAMPLES = 20_000;

/**
 * How many shards a replica's direct step reduces each batch's gradient in (src/engine/direct/direct-step.ts).
 * Alone, it takes the two shards two replicas would, so 1 and 2 workers train to the same
 * bits (float sums depend on their order, and Adam's epsilon turns that into drift); with
 * workers, each replica's shard is already one. It costs a single replica about 5% (BENCHMARKS.md).
 * The equality is with 2 workers only: 3 or more split the batch otherwise.
 */
export function gradientShardsFor(replicas: number): number {
  return replicas === 1 ? 2 : 1;
}

export interface WorkersPlan {
  /** Replicas, the main thread included (1: no worker threads). */
  count: number;
  reason: string;
  /** A count that was asked for but cannot be honoured (logged as a warning). */
  warning?: string;
}

export interface PlanInput {
  requested: number | 'auto';
  backend: BackendName;
  experiment: ResolvedExperiment;
  /** Training samples this run will still process (examples x remaining epochs). */
  samples: number;
  /** The step takes batch normalization's statistics over every replica's rows (the direct step on wasm). */
  wholeBatchStatistics?: boolean;
  cores?: number;
}

export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function planWorkers(p: PlanInput): WorkersPlan {
  const { batchSize } = p.experiment.training;
  const cores = p.cores ?? availableCores();
  if (p.requested !== 'auto') {
    const n = p.requested;
    if (n <= 1) return { count: 1, reason: 'requested 1 worker' };
    if (p.backend === 'tensorflow') {
      return {
        count: 1,
        reason: 'native tensorflow runs its kernels on every core itself',
        warning: `${n} workers requested, but data-parallel workers are for the wasm and cpu backends (native tensorflow already uses every core): training on 1`,
      };
    }
    if (n > batchSize) {
      return {
        count: batchSize,
        reason: `requested ${n}, capped at the batch size`,
        warning: `${n} workers requested, but a batch of ${batchSize} gives at most ${batchSize} shards: training on ${batchSize}`,
      };
    }
    return { count: n, reason: `requested ${n} workers` };
  }
  if (p.backend === 'tensorflow')
    return { count: 1, reason: 'auto: native tensorflow runs its kernels on every core itself' };
  if (cores < 2) return { count: 1, reason: `auto: ${cores} core` };
  if (!p.wholeBatchStatistics && p.experiment.model.layers.some((l) => l.type === 'batchNormalization')) {
    return {
      count: 1,
      reason:
        'auto: batch normalization would see per-worker statistics without the direct step; set training.workers to split anyway',
    };
  }
  const count = Math.min(cores, Math.floor(batchSize / MIN_SHARD_ROWS));
  if (count < 2)
    return {
      count: 1,
      reason: `auto: batch ${batchSize} is too small to split (shards under ${MIN_SHARD_ROWS} rows cost more than they save)`,
    };
  if (p.samples < MIN_AUTO_SAMPLES) {
    return {
      count: 1,
      reason: `auto: ${p.samples} training samples (examples x epochs to train) are under the ${MIN_AUTO_SAMPLES} that pay for starting worker threads`,
    };
  }
  return { count, reason: `auto: ${count} workers on ${cores} cores` };
}
