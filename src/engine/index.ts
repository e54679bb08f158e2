/**
 * The training engine: the one place that knows tfjs internals (tfjs-backend-wasm's heap and
 * kernel registry, tfjs-core's optimizer fields). Everything else uses this surface:
 *
 *   startEngine(tf)          version check + kernel registration, after the wasm backend is active
 *   createStepRunner(...)    plan and run a training step for a built model, and inference
 *                            (the direct wasm step when the engine is on and the model allows it,
 *                            else tfjs autograd), with the reason for the log
 *   buildOptimizer, ...      optimizers (fused updates when on) and their exact state
 *   shards, averages         how data-parallel replicas split a batch and average gradients,
 *                            shared with the direct step so 1 and N workers give the same bits
 */
export { startEngine, engineStatus, type EngineStatus } from './start';
export { BUILT_FOR, VERSIONS_ENV } from './versions';
export { kernelsInUse } from './kernels';
export { createStepRunner, type StepRunner, type StepOptions, type TrainSteps } from './step-runner';
export {
  buildOptimizer,
  setLearningRate,
  captureOptimizerState,
  restoreOptimizerState,
  type NamedTensor,
  type OptimizerState,
} from './optimizer-state';
export { trainableVariables, trainableVariableNames } from './variables';
export { float32Values } from './heap';
export { inPlaceHeap, rewritten, soleData, type InPlaceHeap } from './in-place';
export { averageTwoOn, createSharedMemory, type AverageTwo, type SharedMemory } from './average-wasm';
export { shardRows, maxShardRows, type Shard } from './shards';
export type { RowGather, ShardVector } from './row-gather';
export { shardWeights, weightedSumInto, type ShardPart } from './shard-average';
export type { Batch, TF } from './types';
