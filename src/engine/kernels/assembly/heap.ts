// Entry of the module instantiated on the tfjs wasm backend's own memory (src/engine/kernels/heap-loops.ts):
// the kernels read and write tensors in place at their heap offsets, no copies in or out.
export { clampedRelu, clampedReluGrad, sigmoidMap, tanhMap } from './activations';
export * from './activation-kinds';
export { averageTwo } from './average';
export { avgPoolGrad } from './avg-pool-grad';
export { batchNormGradApply, batchNormGradSums, batchNormSquares, batchNormSums } from './batch-norm-grad';
export { addRowVector, affineRowVector, columnSum, mulRowVector, reluBackward, subRowVector } from './elementwise';
export {
  convFilterGrad4x1, convFilterGrad4x2, convFilterGrad4x4, convFilterGradW2, convFilterGradW3, convFilterGradW4,
  gemm4x1, gemm4x2, gemmW2, gemmW3, gemmW4,
} from './gemm';
export { convFilterGradBlocked, convFilterGradScratch } from './conv-filter-grad';
export { convForward4x1, convForward4x2, convForwardW2 } from './conv-forward';
export { col2im, convBaseTable, im2colT, padNhwc, stackRows } from './im2col';
export { winogradFilter, winogradFilterGrad, winogradGradInput, winogradInput, winogradOutput } from './winograd';
export { winograd4Filter, winograd4FilterGrad, winograd4GradInput, winograd4Input, winograd4Output } from './winograd4';
export { depthwiseFilterGrad, depthwiseInputGrad } from './depthwise';
export { adamUpdate } from './optimizers';
export { adadeltaUpdate, adagradUpdate, adamaxUpdate, momentumUpdate, rmspropUpdate, sgdUpdate } from './optimizer-rules';
export { maxPoolGrad, maxPoolGradSimd } from './pooling';
export { spatialMean, spatialMeanGrad } from './spatial-mean';
export { transpose2d } from './transpose';
export { s2Filter, s2Forward, s2Input } from './winograd-s2';
export { s2FilterGrad, s2GradTiles, s2InputGrad } from './winograd-s2-grad';
