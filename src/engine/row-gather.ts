import type { Shard } from './shards';

/**
 * How a replica reaches the rows of the other replicas' shards in the middle of a step. Batch
 * normalization's statistics (and their gradient sums) are over the whole batch: each is summed
 * per shard, gathered from every shard in shard order, and combined the same way on every
 * replica, so that 1 and 2 workers compute the same bits (src/engine/direct/batch-norm.ts).
 * Implemented over shared memory by the data-parallel group (pipeline/parallel/row-gather.ts).
 */
export interface RowGather {
  /**
   * This replica's vector in; every non-empty shard's vector and row count out, in shard order
   * (this replica's among them). Returns once every replica with rows has given its vector.
   */
  gather(own: Float32Array): ShardVector[];
}

export interface ShardVector {
  rows: number;
  values: Float32Array;
}

/** The batch's split as one step sees it: this replica's shards, and the way to the others' rows (several replicas). */
export interface BatchRows {
  shards: Shard[];
  gather?: RowGather;
}

/**
 * Every non-empty shard's vector in shard order: `compute` on this replica's own shards, plus the
 * other replicas' through `gather` (which then is given exactly one own shard).
 */
export function shardVectors(rows: BatchRows, compute: (s: Shard) => Float32Array): ShardVector[] {
  const own = rows.shards.filter((s) => s.size > 0);
  if (!rows.gather) return own.map((s) => ({ rows: s.size, values: compute(s) }));
  if (own.length !== 1) throw new Error(`a replica gathering rows takes one shard, not ${own.length}`);
  return rows.gather.gather(compute(own[0]));
}
