/**
 * How a batch is split among data-parallel replicas: contiguous rows, sizes differing by at
 * most one, the larger shards first (replica 0, the main thread, never gets an empty shard).
 * A pure function of (rows, replicas), so a given worker count always splits the same way and
 * its results are reproducible.
 */
export interface Shard {
  /** First row of the batch this replica takes. */
  offset: number;
  size: number;
}

export function shardRows(rows: number, replicas: number): Shard[] {
  if (!(Number.isInteger(rows) && rows >= 0))
    throw new RangeError(`shardRows: rows must be a non-negative integer, got ${rows}`);
  if (!(Number.isInteger(replicas) && replicas >= 1))
    throw new RangeError(`shardRows: replicas must be a positive integer, got ${replicas}`);
  const base = Math.floor(rows / replicas);
  const extra = rows % replicas;
  const shards: Shard[] = [];
  let offset = 0;
  for (let k = 0; k < replicas; k++) {
    const size = base + (k < extra ? 1 : 0);
    shards.push({ offset, size });
    offset += size;
  }
  return shards;
}

/** The largest shard a batch of `rows` gives (what each replica's input area must hold). */
export function maxShardRows(rows: number, replicas: number): number {
  return Math.ceil(rows / replicas);
}
