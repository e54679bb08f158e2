import type { MessagePort } from 'node:worker_threads';
import type { BackendName } from '../../backend';
import type { ResolvedExperiment } from '../../config/load';
import type { Geometry, SharedBuffers } from './shared-memory';

/**
 * The messages of a worker's setup and state transfers (rare, structured-cloned through a
 * MessagePort). Per-step traffic goes through shared memory instead (shared-memory.ts).
 */

/** workerData of a replica thread. */
export interface WorkerInit {
  /** This replica's index (>= 1; the main thread is replica 0). */
  replica: number;
  backend: BackendName;
  /** Both directions of the setup and state messages. */
  port: MessagePort;
}

/** main -> worker, once: what to build and where to exchange. */
export interface SetupMessage {
  type: 'setup';
  experiment: ResolvedExperiment;
  inputShape: [number, number, number];
  numClasses: number;
  geometry: Geometry;
  buffers: SharedBuffers;
}

export interface TensorData {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: Float32Array | Int32Array;
}

/** main -> worker, read during a SyncState command: the model's weights, and the optimizer state when there is one to copy. */
export interface StateMessage {
  type: 'state';
  weights: TensorData[];
  optimizer: TensorData[] | null;
}

/** worker -> main. */
export type WorkerMessage = { type: 'ready'; params: number[] } | { type: 'error'; message: string };
