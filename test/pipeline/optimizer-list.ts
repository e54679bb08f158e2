/**
 * Every optimizer the schema offers (it does not offer centered RMSProp: tfjs 4.22 computes
 * sqrt(ms - (mg^2 + epsilon)), NaN wherever a gradient entry is 0), as the YAML
 * flow mappings the tests put in `training.optimizer`.
 */
export const OPTIMIZER_NAMES_FOR_TEST = [
  '{type: sgd, learningRate: 0.1}',
  '{type: sgd, learningRate: 0.05, momentum: 0.9, nesterov: true}',
  '{type: adam, learningRate: 0.01}',
  '{type: rmsprop, learningRate: 0.01, momentum: 0.5}',
  '{type: adagrad, learningRate: 0.1}',
  '{type: adadelta, learningRate: 1}',
  '{type: adamax, learningRate: 0.01}',
];
