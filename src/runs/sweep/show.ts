import { formatValue } from '../flatten';
import { formatStarted } from '../format';
import { renderText } from '../table';
import { leaderboardTable, sweepSummaryLine } from './leaderboard';
import type { RangeSpec } from './spec';
import type { SweepState } from './state';

/** `pipeline show NAME/sweeps/N`: what a sweep tried, how, and how each trial did (trial number beside its run). */

/** `cifar-lenet/sweeps/2`, a sweep folder path ending in sweeps/N, or a sweep.json. */
export function isSweepRef(ref: string): boolean {
  const trimmed = ref.replace(/[\\/]+$/, '');
  return /(^|[\\/])sweeps[\\/][1-9][0-9]*$/.test(trimmed) || /(^|[\\/])sweep\.json$/.test(trimmed);
}

function paramText(spec: unknown): string {
  if (Array.isArray(spec)) return spec.map(formatValue).join(', ');
  if (spec && typeof spec === 'object' && 'min' in spec && 'max' in spec) {
    const s = spec as RangeSpec;
    return `${formatValue(s.min)}..${formatValue(s.max)}${s.scale === 'log' ? ', log scale' : ''}${s.type === 'int' ? ', integers' : ''}`;
  }
  return formatValue(spec);
}

export function formatSweepShow(state: SweepState): string {
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${label.padEnd(10)} ${value}`);
  const s = state.spec;
  field('sweep', `${state.id}  (${state.dir})`);
  field('status', state.status);
  field('file', state.file);
  field('created', `${formatStarted(state.createdAt)}   updated ${formatStarted(state.updatedAt)}`);
  const es = s.earlyStopping ? `, median early stopping after ${s.earlyStopping.minEpochs} epoch(s)` : '';
  field(
    'method',
    `${s.method}, ${state.trials.length} trial${state.trials.length === 1 ? '' : 's'}, ${s.parallel} at a time, ranked by ${s.metric} (${s.goal})${es}`,
  );
  for (const [key, spec] of Object.entries(s.parameters)) field('param', `${key}: ${paramText(spec)}`);
  if (state.baseOverrides.length) field('overrides', state.baseOverrides.join('  '));
  lines.push('', 'trials:');
  lines.push(
    ...renderText(leaderboardTable(state))
      .split('\n')
      .map((l) => `  ${l}`),
  );
  lines.push('', sweepSummaryLine(state));
  return lines.join('\n') + '\n';
}
