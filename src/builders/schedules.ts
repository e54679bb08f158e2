import { Type, type Static, type TObject } from '@sinclair/typebox';
import { Registry, type Entry } from '../registry/registry';
import { Closed, TypeTag } from '../registry/schema-parts';

/**
 * Learning-rate schedules: a pure function of the epoch (0-based) so a
 * resumed run computes exactly the rate an uninterrupted one would.
 * Warmup (linear from base/warmupEpochs... to base) applies to every type.
 */
export interface ScheduleEntry<S extends TObject = TObject> extends Entry {
  readonly schema: S;
  /** The rate for `epoch` (0-based, counted after warmup) out of `epochs` (after warmup). */
  rate(base: number, args: Static<S>, epoch: number, epochs: number): number;
}

function schedule<S extends TObject>(e: ScheduleEntry<S>): ScheduleEntry<S> {
  return e;
}

const Warmup = Type.Integer({
  minimum: 0,
  default: 0,
  description: 'epochs of linear warmup before the schedule starts',
});

export const SCHEDULE_ENTRIES = [
  schedule({
    type: 'constant',
    summary: 'the optimizer learning rate throughout',
    schema: Type.Object({ type: TypeTag('constant', 'constant rate'), warmupEpochs: Warmup }, Closed),
    rate: (base) => base,
  }),
  schedule({
    type: 'step',
    summary: 'multiply by gamma every stepSize epochs',
    schema: Type.Object(
      {
        type: TypeTag('step', 'step decay'),
        stepSize: Type.Integer({ minimum: 1, description: 'epochs between decays' }),
        gamma: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'factor applied at each step' }),
        warmupEpochs: Warmup,
      },
      Closed,
    ),
    rate: (base, a, epoch) => base * Math.pow(a.gamma, Math.floor(epoch / a.stepSize)),
  }),
  schedule({
    type: 'exponential',
    summary: 'multiply by decayRate every epoch',
    schema: Type.Object(
      {
        type: TypeTag('exponential', 'exponential decay'),
        decayRate: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'factor per epoch' }),
        warmupEpochs: Warmup,
      },
      Closed,
    ),
    rate: (base, a, epoch) => base * Math.pow(a.decayRate, epoch),
  }),
  schedule({
    type: 'cosine',
    summary: 'cosine annealing from the base rate to minLearningRate',
    schema: Type.Object(
      {
        type: TypeTag('cosine', 'cosine annealing'),
        minLearningRate: Type.Number({ minimum: 0, default: 0, description: 'rate at the last epoch' }),
        warmupEpochs: Warmup,
      },
      Closed,
    ),
    rate: (base, a, epoch, epochs) =>
      a.minLearningRate +
      0.5 * (base - a.minLearningRate) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs - 1))),
  }),
] as const;

export type ScheduleConfig = Static<(typeof SCHEDULE_ENTRIES)[number]['schema']>;
export const SCHEDULES = new Registry<ScheduleEntry>('schedule', SCHEDULE_ENTRIES as unknown as ScheduleEntry[]);

/** Learning rate for a 0-based epoch: linear warmup to `base`, then the schedule. */
export function learningRateAt(base: number, cfg: ScheduleConfig, epoch: number, totalEpochs: number): number {
  const warm = cfg.warmupEpochs ?? 0;
  if (epoch < warm) return (base * (epoch + 1)) / (warm + 1);
  const entry = SCHEDULES.require(cfg.type);
  return entry.rate(base, cfg, epoch - warm, Math.max(1, totalEpochs - warm));
}
