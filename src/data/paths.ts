import * as os from 'node:os';
import * as path from 'node:path';
import type { DataContext, DatasetConfig } from './types';

/** Where a dataset's home came from: named in messages so users know what to change. */
export type HomeSource = 'dataset.path' | '--data-dir' | 'PIPELINE_DATA_DIR' | 'default';

export interface DataHome {
  /** The dataset's home: <data dir>/<dataset name>, or dataset.path itself. */
  home: string;
  source: HomeSource;
}

type Env = Record<string, string | undefined>;

const nonEmpty = (v: string | undefined): string | undefined => (v && v.trim() !== '' ? v : undefined);

/** $XDG_CACHE_HOME, else ~/.cache (the XDG base-directory default). */
export function xdgCacheHome(env: Env = process.env): string {
  return nonEmpty(env.XDG_CACHE_HOME) ?? path.join(os.homedir(), '.cache');
}

/** Order: dataset.path (the home itself), --data-dir, PIPELINE_DATA_DIR, $XDG_CACHE_HOME/pipeline/datasets. */
export function resolveDataHome(
  cfg: Pick<DatasetConfig, 'name' | 'path'>,
  ctx: Pick<DataContext, 'dataDir'>,
  env: Env = process.env,
): DataHome {
  if (nonEmpty(cfg.path)) return { home: path.resolve(cfg.path!), source: 'dataset.path' };
  if (nonEmpty(ctx.dataDir)) return { home: path.resolve(ctx.dataDir!, cfg.name), source: '--data-dir' };
  const fromEnv = nonEmpty(env.PIPELINE_DATA_DIR);
  if (fromEnv) return { home: path.resolve(fromEnv, cfg.name), source: 'PIPELINE_DATA_DIR' };
  return { home: path.join(xdgCacheHome(env), 'pipeline', 'datasets', cfg.name), source: 'default' };
}

/** Decoded-data caches: ctx.cacheDir, PIPELINE_CACHE_DIR, else $XDG_CACHE_HOME/pipeline. */
export function resolveCacheDir(ctx: Pick<DataContext, 'cacheDir'>, env: Env = process.env): string {
  if (nonEmpty(ctx.cacheDir)) return path.resolve(ctx.cacheDir!);
  const fromEnv = nonEmpty(env.PIPELINE_CACHE_DIR);
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(xdgCacheHome(env), 'pipeline');
}
