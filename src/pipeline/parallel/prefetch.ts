import type { Batch, BatchSource, EvalSplit } from '../types';

/**
 * A BatchSource whose current epoch (or evaluation pass) can be advanced by one batch ahead
 * of the loop: the data-parallel group calls prefetch() while its workers still compute, so
 * converting the next batch (uint8 -> float32, augmentation) costs the main thread no step
 * time. Batches and their order are exactly the wrapped source's; only synchronous sources
 * (the dataset batcher) are read ahead, asynchronous ones pass through.
 */
export class PrefetchingSource implements BatchSource {
  private active: Lookahead | undefined;

  constructor(private readonly inner: BatchSource) {}

  get counts(): BatchSource['counts'] {
    return this.inner.counts;
  }

  train(epoch: number): Iterable<Batch> | AsyncIterable<Batch> {
    return this.wrap(this.inner.train(epoch));
  }

  evaluate(split: EvalSplit): Iterable<Batch> | AsyncIterable<Batch> {
    return this.wrap(this.inner.evaluate(split));
  }

  /** Produces the next batch of the pass being read, if there is one and it is not produced yet. */
  prefetch(): void {
    this.active?.fill();
  }

  private wrap(batches: Iterable<Batch> | AsyncIterable<Batch>): Iterable<Batch> | AsyncIterable<Batch> {
    if (!(Symbol.iterator in batches)) return batches;
    return {
      [Symbol.iterator]: () => {
        const lookahead = new Lookahead(batches[Symbol.iterator]());
        this.active = lookahead;
        return lookahead;
      },
    };
  }
}

class Lookahead implements Iterator<Batch> {
  private ahead: IteratorResult<Batch> | undefined;

  constructor(private readonly it: Iterator<Batch>) {}

  fill(): void {
    this.ahead ??= this.it.next();
  }

  next(): IteratorResult<Batch> {
    const r = this.ahead ?? this.it.next();
    this.ahead = undefined;
    return r;
  }

  return(value?: unknown): IteratorResult<Batch> {
    this.ahead = undefined;
    return this.it.return?.(value) ?? { done: true, value: undefined };
  }
}
