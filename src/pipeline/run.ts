import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tfjs from '@tensorflow/tfjs';
import { selectBackend, type BackendRequest, type SelectedBackend } from '../backend';
import { buildModel } from '../builders/model';
import { loadExperimentFile, type LoadedExperiment } from '../config/load';
import { loadDataset, type LoadedDataset } from '../data';
import type { DatasetConfig } from '../data/types';
import { UsageError } from '../errors';
import { writeRunCurves } from '../runs/plot';
import { parseJsonLines, resolveRunsRoot } from '../runs/read';
import { processLiveness } from '../runs/liveness';
import { writeFileAtomic } from '../util/atomic';
import { PIPELINE_VERSION } from '../util/version';
import { recoverAtomicDirs, resolveAtomicDir } from './atomic-dir';
import { datasetBatchSource, trainBatchCount } from './batch-source';
import { readCheckpoint, readCheckpointState, type LoadedCheckpoint } from './checkpoint-files';
import { CHECKPOINTS_DIR, CheckpointCallback } from './callbacks/checkpoint';
import { EarlyStoppingCallback } from './callbacks/early-stopping';
import { LogCallback } from './callbacks/log';
import { METRICS_JSONL, MetricsFileCallback, SUMMARY_JSON, summarize } from './callbacks/metrics-file';
import { ProgressCallback } from './callbacks/progress';
import { createRunLogger, type Logger } from './logger';
import { mainMetric } from './metric-names';
import { buildOptimizer, restoreOptimizerState } from './optimizer-state';
import { ReplicaGroup, SpawnedWorkers } from './parallel/group';
import { gradientShardsFor, planWorkers } from './parallel/plan';
import { PrefetchingSource } from './parallel/prefetch';
import {
  claimRunDir,
  gitState,
  hostInfo,
  LOG_JSONL,
  MetaFile,
  loadRunExperiment,
  MODEL_DIR,
  readMeta,
  writeRunInputs,
  type RunMeta,
} from './run-dir';
import { installStopSignals, type StopSignal } from './signals';
import { assignWeights, saveModelDir } from './snapshot';
import { createStepRunner } from './step';
import { createTerminal, type Terminal } from './terminal';
import { train } from './train';
import type { Callback, EpochRow, LoopPosition, TrainingSetup } from './types';

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
  const git = gitState(); // before the run folder exists, so the run itself does not make the tree dirty
  const root = resolveRunsRoot(req.runsDir);
  const { dir, version } = claimRunDir(root, loaded.experiment.name);
  writeRunInputs(dir, loaded);
  const e = loaded.experiment;
  const workersRequested = req.workers ?? e.training.workers;
  const meta = new MetaFile(dir, {
    name: e.name,
    version,
    runDir: dir,
    status: 'running',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endedAt: null,
    durationSeconds: null,
    command: [...(req.command ?? ['pipeline', 'run', req.file, ...(req.overrides ?? []).flatMap((o) => ['--set', o])])],
    versions: { pipeline: PIPELINE_VERSION, tfjs: TFJS_VERSION, node: process.version },
    backend: backend.name,
    backendReason: backend.reason,
    workers: 1,
    seed: e.seed,
    configHash: loaded.hash,
    git,
    ...hostInfo(),
    ...(req.tags && Object.keys(req.tags).length ? { tags: req.tags } : {}),
    mainMetric: mainMetric(e),
  });
  return { loaded, backend, runDir: dir, meta, previousRows: [], priorSeconds: 0, workersRequested };
}

const RESUMABLE = new Set(['interrupted', 'failed', 'running']);

async function prepareResume(req: RunRequest): Promise<Prepared> {
  if (req.file || (req.overrides && req.overrides.length)) {
    throw new UsageError('--resume continues a run with its own config; do not pass an experiment file or --set with it');
  }
  const runDir = path.resolve(req.resume!);
  let meta: RunMeta;
  try {
    meta = readMeta(runDir);
  } catch {
    throw new UsageError(`cannot resume ${runDir}: it has no readable meta.json (is it a run folder?)`);
  }
  if (!RESUMABLE.has(meta.status)) throw new UsageError(`cannot resume ${meta.name}/${meta.version}: it is ${meta.status}`);
  if (meta.status === 'running' && processLiveness(meta.pid, meta.host, meta.startedAt) !== 'dead') {
    throw new UsageError(`cannot resume ${meta.name}/${meta.version}: it is still running (pid ${meta.pid} on ${meta.host})`);
  }
  const loaded = loadRunExperiment(runDir);
  if (loaded.hash !== meta.configHash) {
    throw new UsageError(`cannot resume ${meta.name}/${meta.version}: its experiment now resolves differently (pipeline's defaults changed?), so it would not continue the same run`);
  }
  const backend = await selectBackend(req.backend ?? (meta.backend as BackendRequest));

  const checkpoints = path.join(runDir, CHECKPOINTS_DIR);
  recoverAtomicDirs(checkpoints);
  recoverAtomicDirs(runDir);
  const checkpoint = resolveAtomicDir(path.join(checkpoints, 'last'));
  const position = checkpoint ? readCheckpointState(checkpoint).position : undefined;

  // Epochs after the checkpoint (a crash between the metrics line and the checkpoint) are trained again.
  const metricsFile = path.join(runDir, METRICS_JSONL);
  const rows = fs.existsSync(metricsFile) ? parseJsonLines<EpochRow>(fs.readFileSync(metricsFile, 'utf8')) : [];
  const previousRows = rows.filter((r) => typeof r.epoch === 'number' && r.epoch <= (position?.epoch ?? 0));
  writeFileAtomic(metricsFile, previousRows.map((r) => JSON.stringify(r) + '\n').join(''));
  if (previousRows.length === 0) fs.rmSync(path.join(runDir, SUMMARY_JSON), { force: true });

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
    resumes: [...(meta.resumes ?? []), { at: now, epoch: position?.epoch ?? 0, batch: position?.batch ?? 0, previousStatus: meta.status, previousPid: meta.pid }],
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

async function execute(req: RunRequest, p: Prepared): Promise<RunOutcome> {
  const { loaded, backend, runDir, meta } = p;
  const e = loaded.experiment;
  const tf = backend.tf;
  const terminal = req.terminal ?? createTerminal();
  const { logger, close } = createRunLogger({ terminal, file: path.join(runDir, LOG_JSONL) });
  const ownStop = !req.stop;
  const stop =
    req.stop ??
    installStopSignals((signal) => logger.warn(`${signal}: finishing the current batch, then writing a checkpoint (send it again to quit at once)`));
  const started = Date.now();
  const elapsed = () => p.priorSeconds + (Date.now() - started) / 1000;
  let model: tfjs.LayersModel | undefined;
  let optimizer: tfjs.Optimizer | undefined;
  let metricsCb: MetricsFileCallback | undefined;
  let spawned: SpawnedWorkers | undefined;
  let group: ReplicaGroup | undefined;

  logger.info({ runDir, backend: backend.name, reason: backend.reason }, `run ${e.name}/${meta.value.version} in ${runDir}`);
  logger.info(`backend ${backend.name}: ${backend.reason}`);
  try {
    const dataset = req.dataset ?? (await loadDataset(e.dataset as DatasetConfig, { dataDir: req.dataDir, seed: e.seed, log: (m) => logger.info(m), progress: terminal.isTTY }));
    const counts: Record<string, number> = { train: dataset.train.n, test: dataset.test.n };
    if (dataset.validation) counts.validation = dataset.validation.n;
    meta.update({ dataset: { name: dataset.name, source: dataset.source, fingerprint: dataset.fingerprint, counts } });
    logger.info({ counts, fingerprint: dataset.fingerprint, cache: dataset.cache }, `dataset ${dataset.name}: ${counts.train} train, ${counts.validation ?? 0} validation, ${counts.test} test examples`);
    if (stop.requested) {
      // Loading can take minutes the first time; a signal during it ends the run before any training.
      meta.update({ status: 'interrupted', endedAt: new Date().toISOString(), durationSeconds: elapsed() });
      const summary = summarize(p.previousRows, mainMetric(e));
      return { runDir, status: 'interrupted', metrics: summary?.final ?? null, best: summary?.best ?? null, message: 'interrupted while loading the data, before training' };
    }

    const startEpoch = p.checkpoint ? readCheckpointState(p.checkpoint).position.epoch : 0;
    const plan = planWorkers({ requested: p.workersRequested, backend: backend.name, experiment: e, samples: dataset.train.n * Math.max(0, e.training.epochs - startEpoch) });
    if (plan.warning) logger.warn(plan.warning);
    const why = p.workersRecorded ? 'as the run was started with' : plan.reason;
    logger.info({ workers: plan.count, reason: why }, `${plan.count} worker${plan.count === 1 ? '' : 's'} (${why})`);
    meta.update({ workers: plan.count });
    // Threads load their backend while the main thread builds its model.
    if (plan.count > 1) spawned = new SpawnedWorkers({ replicas: plan.count, backend: backend.name, script: req.workerScript });

    const inputShape = dataset.shape;
    model = buildModel(tf, e, inputShape, dataset.classes.length);
    optimizer = buildOptimizer(tf, e, e.training.optimizer.learningRate);
    const steps = createStepRunner({ tf, model, optimizer, experiment: e, numClasses: dataset.classes.length, inputShape, gradientShards: gradientShardsFor(plan.count) });
    const impl = steps.implementation;
    logger.info({ directStep: impl.direct }, impl.direct ? 'training step: direct wasm kernels' : `training step: tfjs autograd (no direct step: ${impl.reason})`);
    const source = new PrefetchingSource(datasetBatchSource(dataset, e));
    if (spawned) {
      group = await ReplicaGroup.start(spawned, { tf, experiment: e, model, optimizer, steps, numClasses: dataset.classes.length, inputShape, idle: () => source.prefetch() });
    }
    const main = mainMetric(e);
    const setup: TrainingSetup = {
      tf,
      experiment: e,
      model,
      optimizer,
      numClasses: dataset.classes.length,
      inputShape,
      batchesPerEpoch: trainBatchCount(dataset, e),
      mainMetric: main,
    };
    const callbacks = buildCallbacks(req, p, setup, terminal, logger);
    metricsCb = callbacks.find((c): c is MetricsFileCallback => c instanceof MetricsFileCallback);

    const start = p.checkpoint ? await restoreCheckpoint(setup, callbacks, readCheckpoint(tf, p.checkpoint), logger) : undefined;
    // Every replica starts from the main model (and, resumed, its optimizer state).
    await group?.syncState(p.checkpoint !== undefined);
    const result = await train({ setup, steps: group ?? steps, source, callbacks, stop, start });

    const summary = metricsCb?.summary();
    const outcome: RunOutcome = { runDir, status: result.status, metrics: summary?.final ?? null, best: summary?.best ?? null, message: result.reason };
    if (result.status === 'completed') {
      await saveModelDir(tf, model, path.join(runDir, MODEL_DIR));
    }
    meta.update({
      status: result.status,
      endedAt: new Date().toISOString(),
      durationSeconds: elapsed(),
      ...(result.status === 'diverged' ? { error: result.reason } : {}),
      ...(result.status === 'completed' && result.reason ? { stopReason: result.reason } : {}),
    });
    if (result.status === 'completed') {
      // The curves are a convenience: a rendering problem is logged, it does not fail a trained run.
      await writeRunCurves(runDir).catch((err: unknown) => logger.warn({ err: String(err) }, `could not draw curves.svg: ${String(err)}`));
      logger.info({ runDir, final: outcome.metrics }, `run completed: ${runDir}`);
    }
    return outcome;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    meta.update({ status: 'failed', endedAt: new Date().toISOString(), durationSeconds: elapsed(), error: message });
    logger.error({ err: message }, `run failed: ${message}`);
    const summary = metricsCb?.summary();
    return { runDir, status: 'failed', metrics: summary?.final ?? null, best: summary?.best ?? null, message, error: err };
  } finally {
    // Worker threads end before the run returns, whatever happened (no thread outlives its run).
    if (group) await group.close();
    else await spawned?.terminate();
    if (ownStop) stop.dispose();
    terminal.clearStatus();
    optimizer?.dispose();
    model?.dispose();
    close();
  }
}

/** Order matters at epoch end: the metrics line first, then early stopping (its state goes into the checkpoint), then the checkpoint. */
function buildCallbacks(req: RunRequest, p: Prepared, setup: TrainingSetup, terminal: Terminal, logger: Logger): Callback[] {
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

async function restoreCheckpoint(setup: TrainingSetup, callbacks: Callback[], ckpt: LoadedCheckpoint, logger: Logger): Promise<LoopPosition> {
  const { tf } = setup;
  try {
    assignWeights(setup.model, ckpt.weights);
    await restoreOptimizerState(tf, setup.optimizer, ckpt.optimizer);
  } finally {
    tf.dispose(Object.values(ckpt.weights));
    tf.dispose(ckpt.optimizer.map((t) => t.tensor));
  }
  for (const cb of callbacks) await cb.restore?.(ckpt.state.callbacks[cb.name]);
  logger.info({ checkpoint: ckpt.dir, position: { epoch: ckpt.state.position.epoch, batch: ckpt.state.position.batch } }, `resuming from ${ckpt.dir}`);
  return ckpt.state.position;
}
