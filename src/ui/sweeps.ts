import * as fs from 'node:fs';
import * as path from 'node:path';
import { PipelineError } from '../errors';
import { listExperimentNames } from '../runs/read';
import { isNotFound } from '../util/not-found';
import { leaderboard, type LeaderboardRow } from '../runs/sweep/leaderboard';
import { resolveSweep, SWEEPS_DIR, type SweepState } from '../runs/sweep/state';
import { NotFound } from './http-errors';

/** Sweeps for the dashboard: every `<experiment>/sweeps/<n>/sweep.json` under the root, read by the sweep module. */

export interface SweepListItem {
  id: string;
  name: string;
  status: string | null;
  metric: string | null;
  goal: string | null;
  trials: number;
  completed: number;
  parameters: string[];
  best: { trial: number; run: string | null; value: number | null } | null;
  /** Set when sweep.json cannot be read. */
  damage: string | null;
}

/** Sweep ids (`tiny/sweeps/2`) under the root, by experiment then number. */
export function sweepIds(root: string): string[] {
  const ids: string[] = [];
  for (const name of listExperimentNames(root)) {
    let entries: string[];
    try {
      entries = fs.readdirSync(path.join(root, name, SWEEPS_DIR));
    } catch (err) {
      if (isNotFound(err)) continue; // an experiment without sweeps
      throw err;
    }
    for (const n of entries
      .filter((e) => /^[1-9][0-9]*$/.test(e))
      .map(Number)
      .sort((a, b) => a - b))
      ids.push(`${name}/${SWEEPS_DIR}/${n}`);
  }
  return ids;
}

function readSweep(root: string, id: string): SweepState | undefined {
  try {
    const state = resolveSweep(id, root);
    return Array.isArray(state.trials) && state.spec ? state : undefined;
  } catch (err) {
    // sweep.json missing or not valid: shown as the sweep's damage.
    if (err instanceof PipelineError) return undefined;
    throw err;
  }
}

export function sweepsPayload(root: string): SweepListItem[] {
  return sweepIds(root).map((id) => {
    const state = readSweep(root, id);
    const name = id.split('/')[0];
    if (!state)
      return {
        id,
        name,
        status: null,
        metric: null,
        goal: null,
        trials: 0,
        completed: 0,
        parameters: [],
        best: null,
        damage: 'sweep.json is missing or not valid',
      };
    const top = leaderboard(state)[0];
    return {
      id,
      name,
      status: state.status,
      metric: state.spec.metric,
      goal: state.spec.goal,
      trials: state.trials.length,
      completed: state.trials.filter((t) => t.status === 'completed').length,
      parameters: Object.keys(state.spec.parameters),
      best: top?.rank ? { trial: top.trial, run: top.run, value: top.value } : null,
      damage: null,
    };
  });
}

export interface SweepPayload {
  id: string;
  status: string;
  metric: string;
  goal: string;
  parameters: string[];
  leaderboard: LeaderboardRow[];
}

export function sweepPayload(root: string, name: string, n: string): SweepPayload {
  const id = `${name}/${SWEEPS_DIR}/${n}`;
  if (!sweepIds(root).includes(id)) throw new NotFound(`no sweep ${id}`);
  const state = readSweep(root, id);
  if (!state) throw new NotFound(`sweep ${id}: sweep.json is missing or not valid`);
  return {
    id,
    status: state.status,
    metric: state.spec.metric,
    goal: state.spec.goal,
    parameters: Object.keys(state.spec.parameters),
    leaderboard: leaderboard(state),
  };
}
