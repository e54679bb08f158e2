import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadExperimentText, type LoadedExperiment } from '../config/load';
import { writeFileAtomic } from '../util/atomic';
import { MetaSchema, OverridesSchema, readRunFile } from './run-files';
import type { RunStatus } from './types';

/**
 * The run directory (contract: docs/run-folder.md): `<root>/<experiment name>/<version>/`.
 * Versions are claimed with a non-recursive mkdir, so two processes can never get the
 * same one; every file is replaced atomically.
 */

export const CONFIG_YAML = 'config.yaml';
export const OVERRIDES_JSON = 'overrides.json';
export const RESOLVED_JSON = 'resolved.json';
export const META_JSON = 'meta.json';
export const LOG_JSONL = 'log.jsonl';
export const MODEL_DIR = 'model';

export interface RunMeta {
  name: string;
  version: number;
  runDir: string;
  status: RunStatus;
  pid: number;
  /** When the process now owning the run started (a resume sets it anew; liveness checks rely on it). */
  startedAt: string;
  endedAt: string | null;
  /** Seconds the run has been working, summed over its resumes. */
  durationSeconds: number | null;
  command: string[];
  versions: { pipeline: string; tfjs: string; node: string };
  backend: string;
  backendReason: string;
  workers: number;
  seed: number;
  configHash: string;
  /** `classes`: the class names in output order (runs before they were recorded lack them). */
  dataset?: { name: string; source: unknown; fingerprint: string; counts: Record<string, number>; classes?: string[] };
  git: { commit: string; dirty: boolean } | null;
  host: string;
  cpus: number;
  tags?: Record<string, string | number>;
  error?: string;
  mainMetric: { name: string; goal: 'max' | 'min' };
  /** Why training ended before `training.epochs` (early stopping), when it did. */
  stopReason?: string;
  /** One entry per `run --resume`: where it continued from. */
  resumes?: Array<{ at: string; epoch: number; batch: number; previousStatus: string; previousPid: number }>;
  /** model.init: the weights this run started from. */
  init?: { from: string; dir: string; layers: string[] };
  /** One entry per `run --resume --set training.epochs=N`: the run trained further, in place. */
  extensions?: RunExtension[];
}

export interface RunExtension {
  at: string;
  fromEpochs: number;
  toEpochs: number;
  /** Epochs trained when it was extended. */
  epochsDone: number;
  previousStatus: string;
}

/** Claims the next free version of `name` under `root`: mkdir without `recursive` fails with EEXIST for a taken one. */
export function claimRunDir(root: string, name: string): { dir: string; version: number } {
  const expDir = path.join(root, name);
  fs.mkdirSync(expDir, { recursive: true });
  const taken = fs
    .readdirSync(expDir)
    .filter((n) => /^[1-9][0-9]*$/.test(n))
    .map(Number);
  let version = taken.length ? Math.max(...taken) + 1 : 1;
  for (;;) {
    const dir = path.join(expDir, String(version));
    try {
      fs.mkdirSync(dir);
      return { dir, version };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      version++;
    }
  }
}

/** The commit and dirty flag of the git work tree containing `cwd`, or null outside one (or without git). */
export function gitState(cwd = process.cwd()): { commit: string; dirty: boolean } | null {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8', timeout: 10_000 });
  try {
    const commit = git(['rev-parse', 'HEAD']).trim();
    const dirty = git(['status', '--porcelain']).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

export function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The run's meta.json, checked (a missing file throws ENOENT, a damaged one a RunError naming the field). */
export function readMeta(runDir: string): RunMeta {
  return readRunFile<RunMeta>(path.join(runDir, META_JSON), MetaSchema);
}

/** A run's experiment as recorded: its config.yaml with its overrides.json, plus `extra` --set values. */
export function loadRunExperiment(runDir: string, extra: readonly string[] = []): LoadedExperiment {
  const configFile = path.join(runDir, CONFIG_YAML);
  const overrides = readRunFile<string[]>(path.join(runDir, OVERRIDES_JSON), OverridesSchema);
  return loadExperimentText(configFile, fs.readFileSync(configFile, 'utf8'), { overrides: [...overrides, ...extra] });
}

/** The files a run starts with: the experiment as given, the --set values, the resolved experiment. */
export function writeRunInputs(runDir: string, loaded: LoadedExperiment): void {
  writeFileAtomic(path.join(runDir, CONFIG_YAML), loaded.text);
  writeJson(path.join(runDir, OVERRIDES_JSON), loaded.overrides);
  // In the file's key order, for people; configHash is over its canonical (sorted) form.
  writeJson(path.join(runDir, RESOLVED_JSON), loaded.experiment);
}

/** meta.json owned by one process: every change rewrites the whole file atomically. */
export class MetaFile {
  constructor(
    private readonly runDir: string,
    private meta: RunMeta,
  ) {
    this.write();
  }

  get value(): Readonly<RunMeta> {
    return this.meta;
  }

  update(changes: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...changes };
    this.write();
  }

  private write(): void {
    writeJson(path.join(this.runDir, META_JSON), this.meta);
  }
}

export function hostInfo(): { host: string; cpus: number } {
  return { host: os.hostname(), cpus: os.cpus().length };
}
