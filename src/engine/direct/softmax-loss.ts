/**
 * Softmax cross-entropy on logits, its gradient and the accuracy count, in one pass over a
 * [n, k] row-major batch (float64 arithmetic; the heap views are float32):
 *
 *   loss    = sum over rows of logsumexp(z) - z[label]        (a sum: the sums arrays hold loss * size)
 *   grad    = (softmax(z) - onehot(label)) / n                (of the batch's MEAN loss, as tfjs's)
 *   correct = rows whose first highest logit is the label    (tfjs's argMax rule)
 *
 * A NaN or infinite logit makes the loss NaN, which the training loop reports as divergence.
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: Uint8Array,
  n: number,
  k: number,
  grad?: Float32Array,
  predicted?: Int32Array,
): { loss: number; correct: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * k;
    let max = logits[row];
    let best = 0;
    for (let j = 1; j < k; j++) {
      if (logits[row + j] > max) {
        max = logits[row + j];
        best = j;
      }
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[row + j] - max);
    const label = labels[i];
    loss += max + Math.log(sum) - logits[row + label];
    if (best === label) correct++;
    if (predicted) predicted[i] = best;
    if (grad) {
      for (let j = 0; j < k; j++) grad[row + j] = (Math.exp(logits[row + j] - max) / sum - (j === label ? 1 : 0)) / n;
    }
  }
  return { loss, correct };
}
