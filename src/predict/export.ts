import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { MODEL_JSON, WEIGHTS_BIN } from '../run-format/names';
import { writeDirAtomic } from '../util/atomic-dir';
import { MANIFEST_FILE } from './manifest';
import type { ModelSource } from './model-source';

/**
 * `pipeline export`: a folder that stands on its own: model.json + weights.bin (the tfjs
 * layers model, byte for byte) and pipeline.json (manifest.ts). Written atomically; an
 * existing folder is replaced only when it is empty or a bundle itself.
 */
export function exportBundle(source: ModelSource, outDir: string): { dir: string; files: string[] } {
  const dir = path.resolve(outDir);
  refuseForeignFolder(dir);
  const manifest = { ...source.manifest, model: MODEL_JSON };
  const files = {
    [MODEL_JSON]: fs.readFileSync(path.join(source.modelDir, MODEL_JSON)),
    [WEIGHTS_BIN]: fs.readFileSync(path.join(source.modelDir, WEIGHTS_BIN)),
    [MANIFEST_FILE]: JSON.stringify(manifest, null, 2) + '\n',
  };
  writeDirAtomic(dir, files);
  return { dir, files: Object.keys(files) };
}

function refuseForeignFolder(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new UsageError(`${dir}: exists and is not a folder`);
    throw err;
  }
  if (names.length > 0 && !names.includes(MANIFEST_FILE)) {
    throw new UsageError(
      `${dir}: folder exists and is not a model bundle (no ${MANIFEST_FILE}); choose a new or empty folder`,
    );
  }
}
