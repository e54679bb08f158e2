import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { didYouMean } from '../util/suggest';
import {
  BEST_CHECKPOINT,
  CHECKPOINTS_DIR,
  epochCheckpointName,
  LAST_CHECKPOINT,
  MODEL_JSON,
} from '../run-format/names';
import { resolveAtomicDir } from '../util/atomic-dir';
import { isNotFound } from '../util/not-found';
import { improves } from '../run-format/metrics';
import { listExperimentNames, listVersions, readJsonIfExists, Run } from './read';

/**
 * Run references, the same everywhere a run is named:
 *   runs/cifar-lenet/3      a path to a run folder (relative to the working directory, or absolute)
 *   cifar-lenet/3           version 3 of experiment cifar-lenet under the runs root
 *   cifar-lenet/latest      its highest version
 *   cifar-lenet/best        its run with the best value of the main metric
 *   cifar-lenet             the whole experiment: all runs (ls, plot) or the latest (show, diff)
 *   cifar-lenet/sweeps/2    the runs of a sweep's trials (ls, plot)
 * Each form also works with a path prefix: runs/cifar-lenet/best, runs/cifar-lenet.
 * A checkpoint of a run, wherever a run is named (eval and predict use its weights):
 *   cifar-lenet/3@best      checkpoints/best/ (the epoch training.selectBy chose)
 *   cifar-lenet/3@last      checkpoints/last/
 *   cifar-lenet/3@epoch-12  checkpoints/epoch-0012/ (kept every training.checkpoints.every epochs)
 *   runs/cifar-lenet/3/checkpoints/best   the folder itself
 */

const SELECTORS = ['latest', 'best'];

interface Parsed {
  /** Absolute experiment folder. */
  expDir: string;
  name: string;
  /** undefined: the whole experiment. */
  selector?: number | 'latest' | 'best';
}

/** One run: a bare experiment name means its latest version. A checkpoint reference names its run. */
export function resolveRun(ref: string, root: string): Run {
  return resolveRunRef(ref, root).run;
}

export interface RunRef {
  run: Run;
  /** Set when the reference names a checkpoint (`@best`, `.../checkpoints/best`). */
  checkpoint?: { name: string; dir: string };
  /** How to name what was referenced: `cifar-lenet/3` or `cifar-lenet/3@best`. */
  label: string;
}

/** A run, or one of its checkpoints. */
export function resolveRunRef(ref: string, root: string): RunRef {
  const split = splitCheckpoint(ref);
  const p = parse(split.run, root);
  const run = select(p, p.selector ?? 'latest', split.run);
  if (split.checkpoint === undefined) return { run, label: run.id };
  const name = checkpointFolder(split.checkpoint);
  const dir = resolveAtomicDir(path.join(run.dir, CHECKPOINTS_DIR, name));
  if (!dir || !fs.existsSync(path.join(dir, MODEL_JSON))) {
    const have = checkpointNames(run.dir);
    const list = have.length ? `; it has ${have.map((n) => `@${n}`).join(', ')}` : '; it has none yet';
    throw new UsageError(`${run.id} has no checkpoint "${split.checkpoint}"${list}`);
  }
  return { run, checkpoint: { name, dir }, label: `${run.id}@${split.checkpoint}` };
}

const CHECKPOINT_NAME = /^(best|last|epoch-[0-9]+)$/;

/** `X@best` or `X/checkpoints/best` -> the run part and the checkpoint; anything else is a plain run reference. */
function splitCheckpoint(ref: string): { run: string; checkpoint?: string } {
  const trimmed = ref.replace(/[\\/]+$/, '');
  const at = trimmed.lastIndexOf('@');
  // Experiment names cannot hold '@'; a folder above the runs root may (/home/a@b/runs/x/3).
  if (at > 0 && !/[\\/]/.test(trimmed.slice(at + 1))) {
    const name = trimmed.slice(at + 1);
    if (!CHECKPOINT_NAME.test(name)) {
      throw new UsageError(
        `"@${name}" in "${ref}" is not a checkpoint: use @best, @last or @epoch-N${didYouMean(name, [BEST_CHECKPOINT, LAST_CHECKPOINT])}`,
      );
    }
    return { run: trimmed.slice(0, at), checkpoint: name };
  }
  if (path.basename(path.dirname(trimmed)) === CHECKPOINTS_DIR && CHECKPOINT_NAME.test(path.basename(trimmed))) {
    return {
      run: path.dirname(path.dirname(trimmed)),
      checkpoint: path.basename(trimmed).replace(/^epoch-0*(?=[0-9])/, 'epoch-'),
    };
  }
  return { run: ref };
}

/** `epoch-12` -> `epoch-0012`, the folder the checkpoint callback writes. */
function checkpointFolder(name: string): string {
  const m = /^epoch-([0-9]+)$/.exec(name);
  return m ? epochCheckpointName(Number(m[1])) : name;
}

/** The checkpoints a run has, as references name them: best, last, epoch-5 ... */
export function checkpointNames(runDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(runDir, CHECKPOINTS_DIR));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const order = (n: string) => (n === BEST_CHECKPOINT ? -2 : n === LAST_CHECKPOINT ? -1 : Number(n.slice(6)));
  return names
    .filter((n) => CHECKPOINT_NAME.test(n))
    .map((n) => n.replace(/^epoch-0*(?=[0-9])/, 'epoch-'))
    .sort((a, b) => order(a) - order(b));
}

/** One run, every run of an experiment for a bare name, or every trial run of a sweep (NAME/sweeps/N). */
export function resolveRuns(ref: string, root: string): Run[] {
  if (splitCheckpoint(ref).checkpoint !== undefined) return [resolveRun(ref, root)];
  const trials = sweepRuns(ref, root);
  if (trials) return trials;
  const p = parse(ref, root);
  if (p.selector !== undefined) return [select(p, p.selector, ref)];
  const versions = listVersions(path.dirname(p.expDir), p.name);
  if (versions.length === 0) throw new UsageError(`experiment "${p.name}" has no runs yet (in ${p.expDir})`);
  return versions.map((v) => new Run(path.join(p.expDir, String(v)), p.name, v));
}

/**
 * The runs of a sweep's trials, in trial order, when `ref` names a sweep
 * (`cifar-lenet/sweeps/2`, its folder, or its sweep.json); undefined otherwise.
 * Runs are found by id under the sweep's own root, so a moved runs root still works.
 */
function sweepRuns(ref: string, root: string): Run[] | undefined {
  const trimmed = ref.replace(/[\\/]+$/, '');
  const byName = /^([^/]+)\/sweeps\/([1-9][0-9]*)$/.exec(trimmed);
  const candidates = [path.resolve(trimmed), ...(byName ? [path.join(root, trimmed)] : [])];
  for (const c of candidates) {
    const file = c.endsWith('.json') ? c : path.join(c, 'sweep.json');
    const state = readJsonIfExists<{ id?: string; trials?: Array<{ index: number; run: string | null }> }>(file);
    if (!state || !Array.isArray(state.trials)) continue;
    const sweepRoot = path.resolve(path.dirname(file), '..', '..', '..');
    const runs = state.trials
      .filter((t) => typeof t.run === 'string')
      .sort((a, b) => a.index - b.index)
      .map((t) => new Run(path.join(sweepRoot, t.run!), t.run!.split('/')[0], Number(t.run!.split('/')[1])))
      .filter((r) => isDir(r.dir));
    if (runs.length === 0) throw new UsageError(`sweep ${state.id ?? trimmed} has no trial runs yet`);
    return runs;
  }
  if (byName) throw new UsageError(`no sweep ${trimmed} in ${root}`);
  return undefined;
}

function parse(ref: string, root: string): Parsed {
  const trimmed = ref.replace(/[\\/]+$/, '');
  if (trimmed === '')
    throw new UsageError('empty run reference; expected e.g. cifar-lenet/3, cifar-lenet/latest or runs/cifar-lenet/3');

  // 1. A path that exists: a run folder, or an experiment folder.
  const asPath = path.resolve(trimmed);
  if (
    isDir(asPath) &&
    (trimmed.includes('/') ||
      trimmed.includes(path.sep) ||
      path.isAbsolute(trimmed) ||
      !isDir(path.join(root, trimmed)))
  ) {
    const base = path.basename(asPath);
    if (/^[1-9][0-9]*$/.test(base))
      return { expDir: path.dirname(asPath), name: path.basename(path.dirname(asPath)), selector: Number(base) };
    if (listVersions(path.dirname(asPath), base).length > 0) return { expDir: asPath, name: base };
  }
  // 2. An experiment folder path plus latest/best (runs/cifar-lenet/best), or a version that is not there.
  const last = path.basename(trimmed);
  const head = path.dirname(trimmed);
  const isSelector = SELECTORS.includes(last) || /^[1-9][0-9]*$/.test(last);
  if (isSelector && head !== '.' && (head.includes('/') || path.isAbsolute(head)) && isDir(path.resolve(head))) {
    const expDir = path.resolve(head);
    const selector = SELECTORS.includes(last) ? (last as 'latest' | 'best') : Number(last);
    return { expDir, name: path.basename(expDir), selector };
  }

  // 3. Relative to the runs root: NAME or NAME/SELECTOR.
  const parts = trimmed.split('/');
  if (parts.length > 2) {
    throw new UsageError(
      `no run folder "${ref}"; expected a path to a run folder, or NAME/VERSION, NAME/latest, NAME/best under ${root}`,
    );
  }
  const [name, sel] = parts;
  const names = listExperimentNames(root);
  if (!names.includes(name)) {
    const hint =
      didYouMean(name, names) || (names.length > 0 && names.length <= 8 ? `; experiments: ${names.join(', ')}` : '');
    const where = names.length === 0 ? ` (${root} has no runs)` : ` in ${root}`;
    throw new UsageError(`no experiment "${name}"${where}${hint}`);
  }
  const expDir = path.join(root, name);
  if (sel === undefined) return { expDir, name };
  if (SELECTORS.includes(sel)) return { expDir, name, selector: sel as 'latest' | 'best' };
  if (/^[1-9][0-9]*$/.test(sel)) return { expDir, name, selector: Number(sel) };
  throw new UsageError(
    `"${sel}" in "${ref}" is not a version: use a number, latest or best${didYouMean(sel, SELECTORS)}`,
  );
}

function select(p: Parsed, selector: number | 'latest' | 'best', ref: string): Run {
  const root = path.dirname(p.expDir);
  const versions = listVersions(root, p.name);
  if (versions.length === 0) throw new UsageError(`experiment "${p.name}" has no runs yet (in ${p.expDir})`);
  const runOf = (v: number) => new Run(path.join(p.expDir, String(v)), p.name, v);
  if (selector === 'latest') return runOf(versions[versions.length - 1]);
  if (selector === 'best') return bestRun(versions.map(runOf), ref);
  if (!versions.includes(selector)) {
    throw new UsageError(
      `no run ${p.name}/${selector}: ${p.name} has version${versions.length === 1 ? '' : 's'} ${formatRanges(versions)}`,
    );
  }
  return runOf(selector);
}

/**
 * The run with the best main-metric value at its best epoch. The main metric is
 * the latest run's (an edited file may change it); runs without a finite value are skipped,
 * and the first of equals wins (run-format/metrics.ts's rule for epochs, applied to runs).
 */
export function bestRun(runs: Run[], ref = ''): Run {
  const metric = runs[runs.length - 1].mainMetric();
  let best: Run | undefined;
  let bestValue: number | undefined;
  for (const r of runs) {
    const v = r.bestMetrics()?.[metric.name];
    if (typeof v === 'number' && improves(v, bestValue, metric.goal)) {
      best = r;
      bestValue = v;
    }
  }
  if (!best) throw new UsageError(`${ref || runs[0].name}: no run has a ${metric.name} value yet`);
  return best;
}

/** [1,2,3,5,7,8] -> "1-3, 5, 7-8" */
export function formatRanges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    out.push(j === i ? String(ns[i]) : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
