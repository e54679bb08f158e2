import { planTrials } from '../src/runs/sweep/plan';
import { proposeTpe, TPE_STARTUP, type Observation } from '../src/runs/sweep/search/tpe';
import type { ParamSpec, SweepSpec } from '../src/runs/sweep/spec';

/**
 * TPE against random search on the same budget, the way a sweep runs them: random
 * search is `--method random`'s plan; TPE keeps the same plan's first 10 trials
 * (its random startup) and chooses every later trial from the results so far.
 * The objective is cheap and synthetic, shaped like a tuning problem: a log-scale
 * learning rate with a narrow optimum, a batch size on a log int range, dropout,
 * units, and a categorical optimizer, with interactions (the best learning rate
 * depends on the batch size). Best value after the budget, median over seeds.
 */

const SPACE: Record<string, ParamSpec> = {
  'training.optimizer.learningRate': { min: 1e-5, max: 1, scale: 'log', type: 'float' },
  'training.batchSize': { min: 16, max: 512, scale: 'log', type: 'int' },
  'model.layers[6].rate': { min: 0, max: 0.7, scale: 'linear', type: 'float' },
  'model.layers[5].units': { min: 16, max: 1024, scale: 'log', type: 'int' },
  'training.optimizer.type': ['adam', 'sgd', 'rmsprop'],
};

/** Higher is better; at most 1. The best learning rate grows with the batch size (linear scaling rule). */
export function syntheticAccuracy(p: Record<string, unknown>): number {
  const lr = p['training.optimizer.learningRate'] as number;
  const batch = p['training.batchSize'] as number;
  const dropout = p['model.layers[6].rate'] as number;
  const units = p['model.layers[5].units'] as number;
  const bestLr = 1e-3 * (batch / 64);
  const lrTerm = (Math.log10(lr) - Math.log10(bestLr)) ** 2;
  const dropTerm = (dropout - 0.3) ** 2 * 2;
  const unitTerm = (Math.log2(units) - 8) ** 2 * 0.02;
  const opt = { adam: 0, rmsprop: 0.03, sgd: 0.08 }[p['training.optimizer.type'] as 'adam'] ?? 0;
  return 1 - 0.25 * lrTerm - dropTerm - unitTerm - opt;
}

function spec(method: 'random' | 'tpe', trials: number): SweepSpec {
  return { method, parameters: SPACE, trials, metric: 'testAccuracy', goal: 'max', parallel: 1 };
}

export function bestOf(method: 'random' | 'tpe', seed: number, budget: number): number {
  const planned = planTrials(spec('random', budget), seed).trials;
  const obs: Observation[] = [];
  for (let i = 0; i < budget; i++) {
    const params =
      method === 'random' || obs.length < TPE_STARTUP
        ? planned[i].params
        : proposeTpe(SPACE, obs, i + 1, { goal: 'max', seed });
    obs.push({ params, value: syntheticAccuracy(params) });
  }
  return Math.max(...obs.map((o) => o.value!));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function tpeVsRandom(
  log: (l: string) => void,
  budget = 30,
  seeds = [1, 2, 3, 4, 5],
): { random: number[]; tpe: number[] } {
  const random = seeds.map((s) => bestOf('random', s, budget));
  const tpe = seeds.map((s) => bestOf('tpe', s, budget));
  log(`- TPE vs random, ${budget} trials of a synthetic objective (max 1), seeds ${seeds.join(', ')}:`);
  log(`  random best per seed ${random.map((v) => v.toFixed(4)).join(', ')}; median ${median(random).toFixed(4)}`);
  log(`  tpe    best per seed ${tpe.map((v) => v.toFixed(4)).join(', ')}; median ${median(tpe).toFixed(4)}`);
  return { random, tpe };
}

if (require.main === module) tpeVsRandom((l) => process.stdout.write(l + '\n'), Number(process.argv[2] ?? 30));
