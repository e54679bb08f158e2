import type { StepRunner, TrainSteps } from '../../engine';
import type { Batch } from '../types';
import type { ReplicaGroup } from './group';
import { gradientShardsFor } from './plan';

/**
 * `workers: auto` with 2 replicas, on the direct step: the run trains on both replicas or on
 * the main thread alone, whichever is faster at the moment, and the choice never changes a
 * bit of the result, because on that step 1 and 2 replicas compute the same numbers
 * (gradientShardsFor; test/pipeline/parallel.test.ts).
 *
 * Why: two replicas step in lockstep, so when another process takes one of the cores, every
 * step waits for whichever replica the scheduler set aside, and two replicas become slower
 * than one (measured on the 2-core machine of BENCHMARKS.md: 958 against 1,215 samples/s for
 * the all-conv family at load 4). On a quiet machine two stay well ahead and the probes cost
 * about 1% (a few dozen steps alone out of every several hundred).
 */

export type Mode = 'group' | 'solo';

export interface ScheduleOptions {
  /** Steps at the start, on both replicas, not timed (compilation, caches). */
  warmup: number;
  /** Steps timed in each mode per probe. */
  window: number;
  /** Steps between probes, in the chosen mode (doubled while one mode keeps winning clearly, up to maxPeriod). */
  period: number;
  maxPeriod: number;
  /** The main thread alone must be this much faster to be chosen (two replicas are the default). */
  margin: number;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = { warmup: 20, window: 25, period: 400, maxPeriod: 3200, margin: 1.1 };

/** Which mode each training step runs in: probe both, keep the faster, probe again later. */
export class ReplicaSchedule {
  private phase: 'warmup' | 'probe' | 'run' = 'warmup';
  private left: number;
  private chosen: Mode = 'group';
  private probing: Mode[] = [];
  private readonly rate: Record<Mode, { samples: number; seconds: number }> = {
    group: { samples: 0, seconds: 0 },
    solo: { samples: 0, seconds: 0 },
  };
  private period: number;

  constructor(private readonly o: ScheduleOptions = DEFAULT_SCHEDULE) {
    this.left = o.warmup;
    this.period = o.period;
  }

  /** The mode of the next step. */
  get mode(): Mode {
    return this.phase === 'probe' ? this.probing[0] : this.chosen;
  }

  /** A finished step of `samples` examples that took `seconds` in the current mode. */
  record(samples: number, seconds: number): void {
    if (this.phase === 'probe') {
      const r = this.rate[this.mode];
      r.samples += samples;
      r.seconds += seconds;
    }
    if (--this.left > 0) return;
    if (this.phase === 'probe' && this.probing.length > 1) {
      this.probing.shift();
      this.left = this.o.window;
      return;
    }
    if (this.phase === 'probe') this.decide();
    else this.startProbe();
  }

  /** Samples/s each mode reached in the last probe (0 before the first). */
  rates(): Record<Mode, number> {
    const per = (m: Mode) => (this.rate[m].seconds > 0 ? this.rate[m].samples / this.rate[m].seconds : 0);
    return { group: per('group'), solo: per('solo') };
  }

  private startProbe(): void {
    this.phase = 'probe';
    // The current mode first, so a probe switches at most twice.
    this.probing = this.chosen === 'group' ? ['group', 'solo'] : ['solo', 'group'];
    this.left = this.o.window;
    for (const r of Object.values(this.rate)) Object.assign(r, { samples: 0, seconds: 0 });
  }

  private decide(): void {
    const { group, solo } = this.rates();
    const next: Mode = solo > group * this.o.margin ? 'solo' : 'group';
    const clear = Math.max(group, solo) > 1.3 * Math.min(group, solo);
    this.period = next === this.chosen && clear ? Math.min(2 * this.period, this.o.maxPeriod) : this.o.period;
    this.chosen = next;
    this.phase = 'run';
    this.left = this.period;
  }
}

/** A step runner whose gradient reduction can change between calls (the direct step, rows independent). */
export type ReshardableRunner = StepRunner & Required<Pick<StepRunner, 'setGradientShards'>>;

/** The runner as a ReshardableRunner, or undefined where the shard count would change its numbers. */
export const reshardable = (steps: StepRunner): ReshardableRunner | undefined =>
  steps.setGradientShards ? (steps as ReshardableRunner) : undefined;

/** Called when the mode changes: the rates of the probe that decided it. */
export type OnSwitch = (to: Mode, rates: Record<Mode, number>) => void;

/** The training loop's steps: the replica group or the main thread's own runner, as the schedule says. */
export class AdaptiveReplicas implements TrainSteps {
  private current: Mode = 'group';

  constructor(
    private readonly group: ReplicaGroup,
    private readonly solo: ReshardableRunner,
    private readonly schedule = new ReplicaSchedule(),
    private readonly onSwitch?: OnSwitch,
  ) {}

  get keys(): string[] {
    return this.group.keys;
  }

  async train(batch: Batch, epoch: number, batchIndex: number): Promise<number[]> {
    await this.enter(this.schedule.mode);
    const t0 = performance.now();
    const sums =
      this.current === 'group'
        ? await this.group.train(batch, epoch, batchIndex)
        : this.solo.train(batch, epoch, batchIndex);
    this.schedule.record(batch.size, (performance.now() - t0) / 1000);
    return sums;
  }

  evaluate(batch: Batch): Promise<{ sums: number[] }> | { sums: number[] } {
    return this.current === 'group' ? this.group.evaluate(batch) : this.solo.evaluate(batch);
  }

  /**
   * Alone, the main thread reduces in the two shards the replicas would; back on both, the
   * worker takes the main thread's weights and optimizer state, which moved on without it.
   */
  private async enter(mode: Mode): Promise<void> {
    if (mode === this.current) return;
    if (mode === 'solo') this.solo.setGradientShards(gradientShardsFor(1));
    else {
      this.solo.setGradientShards(gradientShardsFor(this.group.replicas), this.group.rowGather);
      await this.group.syncState(true);
    }
    this.current = mode;
    this.onSwitch?.(mode, this.schedule.rates());
  }
}
