import type { Predictions, Predictor } from '../predict/predictor';

/**
 * Dynamic batching, as TensorFlow Serving and Triton do it: requests that arrive within
 * `delayMs` of the first waiting one share one forward pass, and a queue holding
 * `maxBatch` images runs at once. Many small requests then cost about what one large
 * batch costs, at the price of at most `delayMs` of added latency.
 */

export interface BatcherOptions {
  maxBatch: number;
  delayMs: number;
}

/** A request's predictions, and how many images its forward pass held (its own and others'). */
export interface Batched extends Predictions {
  batchSize: number;
}

interface Job {
  pixels: Uint8Array;
  n: number;
  resolve(p: Batched): void;
  reject(err: Error): void;
}

export interface BatcherStats {
  batches: number;
  images: number;
  largest: number;
}

export class DynamicBatcher {
  private queue: Job[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly stats: BatcherStats = { batches: 0, images: 0, largest: 0 };

  constructor(
    private readonly predictor: Predictor,
    private readonly o: BatcherOptions,
  ) {}

  /** Predicts n images (HWC uint8, n * h * w * c bytes) together with whatever else is waiting. */
  submit(pixels: Uint8Array, n: number): Promise<Batched> {
    return new Promise<Batched>((resolve, reject) => {
      this.queue.push({ pixels, n, resolve, reject });
      this.queued += n;
      if (this.queued >= this.o.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.o.delayMs);
    });
  }

  /** Runs everything waiting now (also used at shutdown). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const jobs = this.queue.splice(0);
    const total = this.queued;
    this.queued = 0;
    if (jobs.length === 0) return;
    const { height, width, channels } = this.predictor.size;
    const sample = height * width * channels;
    const pixels = jobs.length === 1 ? jobs[0].pixels : new Uint8Array(total * sample);
    if (jobs.length > 1) {
      let at = 0;
      for (const j of jobs) {
        pixels.set(j.pixels.subarray(0, j.n * sample), at * sample);
        at += j.n;
      }
    }
    let result: Predictions;
    try {
      result = this.predictor.predict(pixels, total);
    } catch (err) {
      for (const j of jobs) j.reject(err as Error);
      return;
    }
    this.stats.batches++;
    this.stats.images += total;
    this.stats.largest = Math.max(this.stats.largest, total);
    const k = this.predictor.classes.length;
    let row = 0;
    for (const j of jobs) {
      j.resolve({
        probabilities: result.probabilities.subarray(row * k, (row + j.n) * k),
        predicted: result.predicted.subarray(row, row + j.n),
        batchSize: total,
      });
      row += j.n;
    }
  }
}
