import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest, type SelectedBackend } from '../backend';
import { buildModel } from '../builders/model';
import { checkAgainstData, loadExperimentFile, loadExperimentText, type LoadedExperiment } from '../config/load';
import { parseOverride } from '../config/overrides';
import { formatPath } from '../config/paths';
import { datasetInfo, loadDataset, type LoadedDataset } from '../data';
import { emptyClassWarnings, probeDataset, type DataProbe } from '../data/probe';
import { applyWarmStart, planWarmStart, type WarmStart } from './warm-start';
import type { DatasetConfig } from '../data/types';
import { DataError, InterruptedError, RunError, UsageError } from '../errors';
import { describeOsError } from '../os-errors';
import { writeRunCurves } from '../runs/plot';
import { resolveRunsRoot } from '../runs/read';
import { processLiveness } from '../runs/liveness';
import { PIPELINE_VERSION } from '../util/version';
import { recoverAtomicDirs, resolveAtomicDir } from '../util/atomic-dir';
import { loadRunExperiment } from '../run-format/experiment';
import { selectionMetric, summarize } from '../run-format/metrics';
import {
  CHECKPOINTS_DIR,
  LAST_CHECKPOINT,
  CURVES_SVG,
  LOG_JSONL,
  META_JSON,
  MODEL_DIR,
  STATE_JSON,
} from '../run-format/names';
import { readMeta, readMetricsRows } from '../run-format/read';
import { FORMAT_VERSION, type RunMeta } from '../run-format/types';
import { MetaFile, truncateMetrics, writeRunInputs } from '../run-format/write';
import { datasetBatchSource, trainBatchCount } from './batch-source';
import { checkCheckpoint, readCheckpoint, readCheckpointState, type LoadedCheckpoint } from './checkpoint-files';
import { CheckpointCallback } from './callbacks/checkpoint';
import { EarlyStoppingCallback } from './callbacks/early-stopping';
import { LogCallback } from './callbacks/log';
import { MetricsFileCallback } from './callbacks/metrics-file';
import { ProgressCallback } from './callbacks/progress';
import { createRunLogger, type Logger } from './logger';
import {
  engineStatus,
  kernelsInUse,
  restoreOptimizerState,
  trainableVariableNames,
  type StepRunner,
  type TrainSteps,
} from '../engine';
import { assembleTrainee } from './assemble';
import { AdaptiveReplicas, ReplicaSchedule, reshardable } from './parallel/adaptive';
import { ReplicaGroup, SpawnedWorkers } from './parallel/group';
import { gradientShardsFor, planWorkers } from './parallel/plan';
import { PrefetchingSource } from './parallel/prefetch';
import { claimRunDir, gitState, hostInfo } from './run-dir';
import { installStopSignals, type StopSignal } from './signals';
import { assignWeights, saveModelDir } from './snapshot';
import { createTerminal, type Terminal } from './terminal';
import { train } from './train';
import type { Callback, EpochRow, LoopPosition, TF, TrainingSetup, TrainResult } from './types';

/**
 * `pipeline run`: experiment file -> trained, versioned run folder. Everything that can be
 * wrong with the request (config, backend, --resume target) is reported before a run
 * folder exists; from then on every outcome, failures included, is recorded in meta.json.
 */

export interface RunRequest {
  /** A fresh run of this experiment file, with --set values. */
  file?: string;
  overrides?: readonly string[];
  /** Or continue this run folder from its last checkpoint. */
  resume?: string;
  runsDir?: string;
  dataDir?: string;
  /** Default: auto for a fresh run, the recorded backend for a resume (same backend, same numbers). */
  backend?: BackendRequest;
  /** --workers; overrides training.workers (on --resume, the default is the count the run trained with). */
  workers?: number | 'auto';
  /** Tests: the data-parallel worker entry (default: parallel/worker.js). */
  workerScript?: { file: string } | { code: string };
  tags?: Record<string, string | number>;
  /** The command line recorded in meta.json. */
  command?: readonly string[];
  /** Tests and embedders: data already in memory instead of loadDataset(). */
  dataset?: LoadedDataset;
  /** Default: SIGINT/SIGTERM handlers for the duration of the run. */
  stop?: StopSignal;
  /** Where progress and pretty logs go (default: stderr). */
  terminal?: Terminal;
  /** Extra callbacks, after the built-in ones. */
  callbacks?: readonly Callback[];
}

export type FinalStatus = 'completed' | 'failed' | 'interrupted' | 'diverged';

export interface RunOutcome {
  runDir: string;
  status: FinalStatus;
  /** The last epoch's row, null before the first epoch ended. */
  metrics: EpochRow | null;
  best: EpochRow | null;
  /** Why it is not completed (or why it completed early). */
  message?: string;
  /** The error of a failed run (its class decides the exit code). */
  error?: unknown;
}

interface Prepared {
  loaded: LoadedExperiment;
  backend: SelectedBackend;
  runDir: string;
  meta: MetaFile;
  checkpoint?: string;
  previousRows: EpochRow[];
  priorSeconds: number;
  workersRequested: number | 'auto';
  /** A resume without --workers takes the run's recorded count. */
  workersRecorded?: boolean;
  /** model.init, checked before the run folder was made (when the data's shape was known then). */
  warmStart?: WarmStart;
}

const TFJS_VERSION: string = require('@tensorflow/tfjs/package.json').version;

export async function runExperiment(req: RunRequest): Promise<RunOutcome> {
  const prepared = req.resume ? await prepareResume(req) : await prepareFresh(req);
  return execute(req, prepared);
}

async function prepareFresh(req: RunRequest): Promise<Prepared> {
  if (!req.file) throw new UsageError('pipeline run needs an experiment file (or --resume RUN)');
  const loaded = loadExperimentFile(req.file, { overrides: req.overrides });
  const backend = await selectBackend(req.backend ?? 'auto');
  const root = resolveRunsRoot(req.runsDir);
  const warmStart = preflight(req, loaded, backend.tf, root);
  const git = gitState(); // before the run folder exists, so the run itself does not make the tree dirty
  const { dir, version } = claimRunDir(root, loaded.experiment.name);
  const e = loaded.experiment;
  const workersRequested = req.workers ?? e.training.workers;
  try {
    writeRunInputs(dir, loaded);
    const meta = new MetaFile(dir, freshMeta(req, loaded, backend, dir, version, git));
    return { loaded, backend, runDir: dir, meta, previousRows: [], priorSeconds: 0, workersRequested, warmStart };
  } catch (err) {
    // Without meta.json the folder is no run (nothing was trained): remove it, then report why.
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function freshMeta(
  req: RunRequest,
  loaded: LoadedExperiment,
  backend: SelectedBackend,
  dir: string,
  version: number,
  git: RunMeta['git'],
): RunMeta {
  const e = loaded.experiment;
  return {
    formatVersion: FORMAT_VERSION,
    name: e.name,
    version,
    runDir: dir,
    status: 'running',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endedAt: null,
    durationSeconds: null,
    command: [
      ...(req.command ?? ['pipeline', 'run', req.file ?? '', ...(req.overrides ?? []).flatMap((o) => ['--set', o])]),
    ],
    versions: { pipeline: PIPELINE_VERSION, tfjs: TFJS_VERSION, node: process.version },
    backend: backend.name,
    backendReason: backend.reason,
    workers: 1,
    seed: e.seed,
    configHash: loaded.hash,
    git,
    ...hostInfo(),
    ...(req.tags && Object.keys(req.tags).length ? { tags: req.tags } : {}),
    mainMetric: selectionOf(e),
  };
}

/**
 * What the data and a warm-start source say about the experiment, checked before a run folder
 * exists: an image folder's classes and image size against the model (a ConfigError at the
 * file's lines, exit 2, nothing created), and model.init's layers and shapes. A folder that
 * cannot be read is left to the run, which records the failure.
 */
function preflight(req: RunRequest, loaded: LoadedExperiment, tf: TF, root: string): WarmStart | undefined {
  const e = loaded.experiment;
  const data = req.dataset
    ? { shape: req.dataset.shape, classes: req.dataset.classes, where: 'the dataset' }
    : probeOrNothing(e.dataset, req.dataDir);
  if (data) checkAgainstData(loaded, data);
  if (!e.model.init) return undefined;
  const known = datasetInfo(e.dataset);
  const shape = data?.shape ?? known.shape;
  const classes = data?.classes.length ?? known.classes?.length;
  if (!shape || classes === undefined) return undefined; // checked once the data is loaded
  const model = buildModel(tf, e, shape, classes);
  try {
    return planWarmStart(loaded, root, model);
  } finally {
    model.dispose();
  }
}

/** The loaded data: warnings for classes a split lacks; the model checked again where the preflight could not read it. */
function checkLoadedData(req: RunRequest, p: Prepared, dataset: LoadedDataset, logger: Logger): void {
  for (const w of emptyClassWarnings(dataset)) logger.warn(w);
  if (!req.dataset && !p.checkpoint)
    checkAgainstData(p.loaded, { shape: dataset.shape, classes: dataset.classes, where: dataset.source.path });
}

function probeOrNothing(cfg: DatasetConfig, dataDir: string | undefined): DataProbe | undefined {
  try {
    return probeDataset(cfg, { dataDir });
  } catch (err) {
    if (err instanceof DataError) return undefined;
    throw err;
  }
}

const RESUMABLE = new Set(['interrupted', 'failed', 'running']);

async function prepareResume(req: RunRequest): Promise<Prepared> {
  if (req.file)
    throw new UsageError('--resume continues a run with its own config; do not pass an experiment file with it');
  const extendTo = epochsOverride(req.overrides ?? []);
  const { runDir, id, meta, recorded } = resumeTarget(req, extendTo);
  const backend = await selectBackend(req.backend ?? (meta.backend as BackendRequest));
  const { checkpoint, position } = lastCheckpoint(runDir);
  const extension =
    extendTo === undefined ? undefined : extendRun(runDir, id, meta, recorded, extendTo, position?.epoch ?? 0);
  const loaded = extension?.loaded ?? recorded;
  if (position && position.epoch > loaded.experiment.training.epochs) {
    throw new RunError(
      `${path.join(checkpoint!, STATE_JSON)}: position.epoch: ${position.epoch} is more than the run's training.epochs (${loaded.experiment.training.epochs}); the checkpoint is damaged`,
    );
  }
  // Epochs after the checkpoint (a crash between the metrics line and the checkpoint) are trained again.
  const previousRows = readMetricsRows(runDir).filter((r) => r.epoch <= (position?.epoch ?? 0));
  truncateMetrics(runDir, previousRows);
  const now = new Date().toISOString();
  const file = new MetaFile(runDir, {
    ...meta,
    status: 'running',
    pid: process.pid,
    startedAt: now,
    endedAt: null,
    backend: backend.name,
    backendReason: backend.reason,
    error: undefined,
    stopReason: undefined,
    resumes: [
      ...(meta.resumes ?? []),
      {
        at: now,
        epoch: position?.epoch ?? 0,
        batch: position?.batch ?? 0,
        previousStatus: meta.status,
        previousPid: meta.pid,
      },
    ],
    ...(extension
      ? { configHash: loaded.hash, extensions: [...(meta.extensions ?? []), { at: now, ...extension.record }] }
      : {}),
  });
  return {
    loaded,
    backend,
    runDir,
    meta: file,
    checkpoint,
    previousRows,
    priorSeconds: meta.durationSeconds ?? 0,
    // The recorded count, so the resumed run continues with the numbers an uninterrupted one computes;
    // before its first checkpoint nothing was trained with it (a run stopped while loading data).
    workersRequested: req.workers ?? (checkpoint ? meta.workers : undefined) ?? loaded.experiment.training.workers,
    workersRecorded: req.workers === undefined && checkpoint !== undefined && meta.workers !== undefined,
  };
}

/** The run --resume names, refused (before anything changes) unless it can continue as the same run. */
function resumeTarget(req: RunRequest, extendTo: number | undefined) {
  const runDir = path.resolve(req.resume!);
  if (!fs.existsSync(path.join(runDir, META_JSON)))
    throw new UsageError(`cannot resume ${runDir}: it has no readable ${META_JSON} (is it a run folder?)`);
  const meta = readMeta(runDir);
  const id = `${meta.name}/${meta.version}`;
  if (meta.status === 'completed' && extendTo === undefined) {
    throw new UsageError(
      `cannot resume ${id}: it is completed; to train it further, give it more epochs: pipeline run --resume ${id} --set training.epochs=N`,
    );
  }
  if (!RESUMABLE.has(meta.status) && meta.status !== 'completed')
    throw new UsageError(`cannot resume ${id}: it is ${meta.status}`);
  if (meta.status === 'running' && processLiveness(meta.pid, meta.host, meta.startedAt) !== 'dead') {
    throw new UsageError(`cannot resume ${id}: it is still running (pid ${meta.pid} on ${meta.host})`);
  }
  const recorded = loadRunExperiment(runDir);
  if (recorded.hash !== meta.configHash) {
    throw new UsageError(
      `cannot resume ${id}: its experiment now resolves differently (pipeline's defaults changed?), so it would not continue the same run`,
    );
  }
  return { runDir, id, meta, recorded };
}

/**
 * The run's last checkpoint after tidying what a crash left, every file of it checked now, so a
 * damaged checkpoint leaves the run as it was (not extended, not failed).
 */
function lastCheckpoint(runDir: string): { checkpoint?: string; position?: LoopPosition } {
  const checkpoints = path.join(runDir, CHECKPOINTS_DIR);
  recoverAtomicDirs(checkpoints);
  recoverAtomicDirs(runDir);
  const checkpoint = resolveAtomicDir(path.join(checkpoints, LAST_CHECKPOINT));
  return { checkpoint, position: checkpoint ? checkCheckpoint(checkpoint).position : undefined };
}

/** What a run holds while it trains: released in one place (execute's finally) whatever happens. */
interface Held {
  model?: tfjs.LayersModel;
  optimizer?: tfjs.Optimizer;
  metrics?: MetricsFileCallback;
  spawned?: SpawnedWorkers;
  group?: ReplicaGroup;
}

/** A prepared run while it executes. */
interface Execution {
  req: RunRequest;
  p: Prepared;
  terminal: Terminal;
  logger: Logger;
  stop: StopSignal;
  /** Seconds worked on the run, over its resumes. */
  elapsed: () => number;
  held: Held;
}

async function execute(req: RunRequest, p: Prepared): Promise<RunOutcome> {
  const terminal = req.terminal ?? createTerminal();
  const { logger, close } = createRunLogger({ terminal, file: path.join(p.runDir, LOG_JSONL) });
  const ownStop = !req.stop;
  const stop =
    req.stop ??
    installStopSignals((signal) =>
      logger.warn(`${signal}: finishing the current batch, then writing a checkpoint (send it again to quit at once)`),
    );
  const started = Date.now();
  const elapsed = () => p.priorSeconds + (Date.now() - started) / 1000;
  const x: Execution = { req, p, terminal, logger, stop, elapsed, held: {} };
  logStart(x);
  try {
    return await trainRun(x);
  } catch (caught) {
    return failedRun(x, caught);
  } finally {
    // Worker threads end before the run returns, whatever happened (no thread outlives its run).
    if (x.held.group) await x.held.group.close();
    else await x.held.spawned?.terminate();
    if (ownStop) stop.dispose();
    terminal.clearStatus();
    x.held.optimizer?.dispose();
    x.held.model?.dispose();
    close();
  }
}

function logStart({ p, logger }: Execution): void {
  const { backend, runDir, meta } = p;
  logger.info(
    { runDir, backend: backend.name, reason: backend.reason },
    `run ${p.loaded.experiment.name}/${meta.value.version} in ${runDir}`,
  );
  logger.info(`backend ${backend.name}: ${backend.reason}`);
  const selection = selectionMetric(p.loaded.experiment);
  if (selection.warning) logger.warn(selection.warning);
  else logger.info({ selectBy: selection }, `best epoch selected by ${selection.name} (${selection.goal})`);
}

/** Data, workers, model, then the training loop; the outcome recorded in meta.json. */
async function trainRun(x: Execution): Promise<RunOutcome> {
  const { req, p, stop } = x;
  const e = p.loaded.experiment;
  const dataset = req.dataset ?? (await loadRunData(req, e.dataset, e.seed, stop, x.logger, x.terminal));
  recordDataset(x, dataset);
  if (stop.requested) return interruptedWhileLoading(x);
  const workers = startWorkers(x, dataset);
  const { setup, steps, source } = await assemble(x, dataset, workers);
  const callbacks = buildCallbacks(req, p, setup, x.terminal, x.logger);
  x.held.metrics = callbacks.find((c): c is MetricsFileCallback => c instanceof MetricsFileCallback);
  const start = p.checkpoint
    ? await restoreCheckpoint(setup, callbacks, readCheckpoint(setup.tf, p.checkpoint), x.logger)
    : undefined;
  // Every replica starts from the main model (and, resumed, its optimizer state).
  await x.held.group?.syncState(p.checkpoint !== undefined);
  const result = await train({ setup, steps: loopSteps(x, steps), source, callbacks, stop, start });
  return finishRun(x, setup, result);
}

/**
 * What the loop steps with: the main runner, the replica group, or (workers auto, 2 replicas,
 * a step whose bits do not depend on the count) whichever of the two is faster at the moment.
 */
function loopSteps(x: Execution, steps: StepRunner): TrainSteps {
  const { group } = x.held;
  if (!group) return steps;
  const auto = (x.req.workers ?? x.p.loaded.experiment.training.workers) === 'auto';
  const solo = reshardable(steps);
  if (!auto || group.replicas !== 2 || !solo) return group;
  return new AdaptiveReplicas(group, solo, new ReplicaSchedule(), (to, rates) =>
    x.logger.debug(
      { replicas: to === 'group' ? 2 : 1, samplesPerSecond: rates },
      `training on ${to === 'group' ? '2 replicas' : 'the main thread alone'}: measured ${Math.round(rates.group)} samples/s on 2, ${Math.round(rates.solo)} on 1`,
    ),
  );
}

/** The loaded data checked, and named in meta.json (source, fingerprint, counts, classes). */
function recordDataset(x: Execution, dataset: LoadedDataset): void {
  checkLoadedData(x.req, x.p, dataset, x.logger);
  const counts: Record<string, number> = { train: dataset.train.n, test: dataset.test.n };
  if (dataset.validation) counts.validation = dataset.validation.n;
  x.p.meta.update({
    dataset: {
      name: dataset.name,
      source: dataset.source,
      fingerprint: dataset.fingerprint,
      counts,
      classes: dataset.classes,
    },
  });
  x.logger.info(
    { counts, fingerprint: dataset.fingerprint, cache: dataset.cache },
    `dataset ${dataset.name}: ${counts.train} train, ${counts.validation ?? 0} validation, ${counts.test} test examples`,
  );
}

/** Loading can take minutes the first time; a signal during it ends the run before any training. */
function interruptedWhileLoading(x: Execution): RunOutcome {
  const { p } = x;
  p.meta.update({ status: 'interrupted', endedAt: new Date().toISOString(), durationSeconds: x.elapsed() });
  const summary = summarize(p.previousRows, selectionOf(p.loaded.experiment));
  return {
    runDir: p.runDir,
    status: 'interrupted',
    metrics: summary?.final ?? null,
    best: summary?.best ?? null,
    message: LOADING_INTERRUPTED(x.stop.signal),
  };
}

/** How many data-parallel workers, recorded in meta.json; their threads start loading their backend now. */
function startWorkers(x: Execution, dataset: LoadedDataset): number {
  const { p, req } = x;
  const e = p.loaded.experiment;
  const startEpoch = p.checkpoint ? readCheckpointState(p.checkpoint).position.epoch : 0;
  const plan = planWorkers({
    requested: p.workersRequested,
    backend: p.backend.name,
    experiment: e,
    samples: dataset.train.n * Math.max(0, e.training.epochs - startEpoch),
    wholeBatchStatistics: p.backend.name === 'wasm' && engineStatus().fast,
  });
  if (plan.warning) x.logger.warn(plan.warning);
  const why = p.workersRecorded ? 'as the run was started with' : plan.reason;
  x.logger.info({ workers: plan.count, reason: why }, `${plan.count} worker${plan.count === 1 ? '' : 's'} (${why})`);
  p.meta.update({ workers: plan.count });
  // Threads load their backend while the main thread builds its model.
  if (plan.count > 1)
    x.held.spawned = new SpawnedWorkers({ replicas: plan.count, backend: p.backend.name, script: req.workerScript });
  return plan.count;
}

/** The model (warm-started when the experiment says so), optimizer and step; the replica group around them. */
async function assemble(x: Execution, dataset: LoadedDataset, workers: number) {
  const { p } = x;
  const e = p.loaded.experiment;
  const tf = p.backend.tf;
  const inputShape = dataset.shape;
  const numClasses = dataset.classes.length;
  const { model, optimizer, steps } = assembleTrainee({
    tf,
    experiment: e,
    inputShape,
    numClasses,
    gradientShards: gradientShardsFor(workers),
    initialize: (m) => {
      if (!p.checkpoint) warmStart(p, m, x.logger);
    },
  });
  Object.assign(x.held, { model, optimizer });
  const impl = steps.implementation;
  x.logger.info(
    { directStep: impl.direct },
    impl.direct
      ? `training step: direct wasm kernels (${kernelsInUse()})`
      : `training step: tfjs autograd: ${impl.reason}`,
  );
  const source = new PrefetchingSource(datasetBatchSource(dataset, e));
  if (x.held.spawned) {
    x.held.group = await ReplicaGroup.start(x.held.spawned, {
      tf,
      experiment: e,
      model,
      optimizer,
      steps,
      numClasses,
      inputShape,
      idle: () => source.prefetch(),
    });
  }
  const setup: TrainingSetup = {
    tf,
    experiment: e,
    model,
    optimizer,
    numClasses,
    inputShape,
    batchesPerEpoch: trainBatchCount(dataset, e),
    mainMetric: selectionOf(e),
  };
  return { setup, steps, source };
}

/** The loop's end in the run folder: the final model when completed, meta.json, the curves. */
async function finishRun(x: Execution, setup: TrainingSetup, result: TrainResult): Promise<RunOutcome> {
  const { runDir, meta } = x.p;
  const summary = x.held.metrics?.summary();
  const outcome: RunOutcome = {
    runDir,
    status: result.status,
    metrics: summary?.final ?? null,
    best: summary?.best ?? null,
    message: result.reason,
  };
  if (result.status === 'completed') await saveModelDir(setup.tf, setup.model, path.join(runDir, MODEL_DIR));
  meta.update({
    status: result.status,
    endedAt: new Date().toISOString(),
    durationSeconds: x.elapsed(),
    ...(result.status === 'diverged' ? { error: result.reason } : {}),
    ...(result.status === 'completed' && result.reason ? { stopReason: result.reason } : {}),
  });
  if (result.status === 'completed') {
    // The curves are a convenience: a rendering problem is logged, it does not fail a trained run.
    await writeRunCurves(runDir).catch((err: unknown) =>
      x.logger.warn({ err: String(err) }, `could not draw ${CURVES_SVG}: ${String(err)}`),
    );
    x.logger.info({ runDir, final: outcome.metrics }, `run completed: ${runDir}`);
  }
  return outcome;
}

/** A run that failed or was interrupted: recorded in meta.json (when the disk still lets us), and returned as such. */
function failedRun(x: Execution, caught: unknown): RunOutcome {
  const { runDir, meta } = x.p;
  const err = asRunError(caught, runDir);
  const status = err instanceof InterruptedError ? 'interrupted' : 'failed';
  let message = err instanceof Error ? err.message : String(err);
  const recorded = recordEnd(
    meta,
    {
      status,
      endedAt: new Date().toISOString(),
      durationSeconds: x.elapsed(),
      ...(status === 'failed' ? { error: message } : {}),
    },
    runDir,
  );
  if (recorded) message += `; ${recorded}`;
  x.logger.error({ err: message }, `run ${status}: ${message}`);
  const summary = x.held.metrics?.summary() ?? summarize(x.p.previousRows, selectionOf(x.p.loaded.experiment));
  const error = recorded && status === 'failed' ? new RunError(message) : err;
  return { runDir, status, metrics: summary?.final ?? null, best: summary?.best ?? null, message, error };
}

/** The run's dataset; a signal while it loads (a download, decoding) stops it at once, with one message however far it got. */
async function loadRunData(
  req: RunRequest,
  cfg: DatasetConfig,
  seed: number,
  stop: StopSignal,
  logger: Logger,
  terminal: Terminal,
): Promise<LoadedDataset> {
  try {
    return await loadDataset(cfg, {
      dataDir: req.dataDir,
      seed,
      log: (m) => logger.info(m),
      progress: terminal.isTTY,
      signal: stop.abort,
    });
  } catch (err) {
    if (err instanceof InterruptedError && stop.requested) throw new InterruptedError(LOADING_INTERRUPTED(stop.signal));
    throw err;
  }
}

const LOADING_INTERRUPTED = (signal: string | undefined) =>
  `interrupted (${signal ?? 'signal'}) while loading the data, before training`;

/**
 * An OS error the user can fix (a full disk, a read-only folder) becomes a RunError worded
 * once (os-errors.ts), naming the file inside the run folder and how to continue.
 */
function asRunError(err: unknown, runDir: string): unknown {
  const os = describeOsError(err, { relativeTo: runDir, retry: `run pipeline run --resume ${runDir}` });
  return os ? new RunError(os) : err;
}

/** The final meta.json; when even that cannot be written (the disk is still full), says so instead of throwing. */
function recordEnd(meta: MetaFile, changes: Partial<RunMeta>, runDir: string): string | undefined {
  try {
    meta.update(changes);
    return undefined;
  } catch (err) {
    return `${META_JSON} could not be updated either (${describeOsError(err, { relativeTo: runDir }) ?? String(err)})`;
  }
}

/** model.init: a fresh run (or one resumed before its first checkpoint) starts from the source's weights. */
function warmStart(p: Prepared, model: tfjs.LayersModel, logger: Logger): void {
  if (!p.loaded.experiment.model.init) return;
  const ws = p.warmStart ?? planWarmStart(p.loaded, path.dirname(path.dirname(p.runDir)), model)!;
  applyWarmStart(p.backend.tf, model, ws);
  p.meta.update({ init: { from: ws.label, dir: ws.dir, layers: ws.layers } });
  logger.info({ init: ws }, `warm start from ${ws.label}: ${ws.layers.join(', ')}`);
}

/** `--set training.epochs=N` is the one change --resume takes: it extends the run; anything else makes a new run. */
function epochsOverride(overrides: readonly string[]): number | undefined {
  let epochs: number | undefined;
  for (const raw of overrides) {
    const o = parseOverride(raw);
    if (formatPath(o.path) !== 'training.epochs' || o.remove || !Number.isInteger(o.value)) {
      throw new UsageError(
        `--resume takes only --set training.epochs=N (to train the run further); --set ${raw} would make a different run: start a new one, or warm-start it with model.init`,
      );
    }
    epochs = o.value as number;
  }
  return epochs;
}

/**
 * Extending a run to `epochs`: its recorded config gets the new value (overrides.json,
 * resolved.json, configHash), so a later resume continues the extended run. Checked
 * before anything is written.
 */
function extendRun(
  runDir: string,
  id: string,
  meta: RunMeta,
  recorded: LoadedExperiment,
  epochs: number,
  done: number,
) {
  const from = recorded.experiment.training.epochs;
  if (epochs <= done) {
    throw new UsageError(
      `cannot extend ${id} to ${epochs} epochs: it has trained ${done} already; training.epochs must be more than that`,
    );
  }
  const overrides = [
    ...recorded.overrides.filter((o) => !/^\s*training\.epochs\s*=/.test(o)),
    `training.epochs=${epochs}`,
  ];
  const loaded = loadExperimentText(recorded.file, recorded.text, { overrides });
  writeRunInputs(runDir, loaded);
  return { loaded, record: { fromEpochs: from, toEpochs: epochs, epochsDone: done, previousStatus: meta.status } };
}

/** Order matters at epoch end: the metrics line first, then early stopping (its state goes into the checkpoint), then the checkpoint. */
function buildCallbacks(
  req: RunRequest,
  p: Prepared,
  setup: TrainingSetup,
  terminal: Terminal,
  logger: Logger,
): Callback[] {
  const { tf, experiment: e, model, optimizer } = setup;
  const debug = (msg: string, fields: object = {}) => logger.debug(fields, msg);
  const info = (msg: string, fields: object = {}) => logger.info(fields, msg);
  const callbacks: Callback[] = [new MetricsFileCallback(p.runDir, setup.mainMetric, p.previousRows)];
  if (e.training.earlyStopping) {
    callbacks.push(new EarlyStoppingCallback(e.training.earlyStopping, { tf, runDir: p.runDir, model, log: info }));
  }
  callbacks.push(
    new CheckpointCallback({
      tf,
      runDir: p.runDir,
      model,
      optimizer,
      seed: e.seed,
      every: e.training.checkpoints.every,
      by: setup.mainMetric,
      states: () => Object.fromEntries(callbacks.filter((c) => c.state).map((c) => [c.name, c.state!()])),
      log: debug,
    }),
    new ProgressCallback(terminal),
    new LogCallback(logger),
    ...(req.callbacks ?? []),
  );
  return callbacks;
}

/** The selection metric without its warning: what meta.json, summary.json and the checkpoints record. */
function selectionOf(e: LoadedExperiment['experiment']): { name: string; goal: 'max' | 'min' } {
  const { name, goal } = selectionMetric(e);
  return { name, goal };
}

async function restoreCheckpoint(
  setup: TrainingSetup,
  callbacks: Callback[],
  ckpt: LoadedCheckpoint,
  logger: Logger,
): Promise<LoopPosition> {
  const { tf } = setup;
  const { batch } = ckpt.state.position;
  if (batch >= setup.batchesPerEpoch) {
    tf.dispose(Object.values(ckpt.weights));
    tf.dispose(ckpt.optimizer.map((t) => t.tensor));
    throw new RunError(
      `${path.join(ckpt.dir, STATE_JSON)}: position.batch: ${batch} is not below the ${setup.batchesPerEpoch} batches of an epoch; the checkpoint is damaged`,
    );
  }
  try {
    assignWeights(setup.model, ckpt.weights);
    await restoreOptimizerState(tf, setup.optimizer, ckpt.optimizer, trainableVariableNames(setup.model));
  } finally {
    tf.dispose(Object.values(ckpt.weights));
    tf.dispose(ckpt.optimizer.map((t) => t.tensor));
  }
  for (const cb of callbacks) await cb.restore?.(ckpt.state.callbacks[cb.name]);
  logger.info(
    { checkpoint: ckpt.dir, position: { epoch: ckpt.state.position.epoch, batch: ckpt.state.position.batch } },
    `resuming from ${ckpt.dir}`,
  );
  return ckpt.state.position;
}
