/**
 * Writes what an experiment trains on and what it is, for the PyTorch reference
 * (bench/torch_from_config.py): the resolved experiment (blocks expanded, defaults
 * filled) and the exact train/test examples `pipeline run` would use (same subset,
 * same decoded pixels), so both frameworks see the same data.
 *
 *   node dist/bench/dump-experiment.js EXPERIMENT.yaml OUT_DIR [--set key=value ...]
 *       [--check STEPS] [--backend wasm|cpu]
 *
 * OUT_DIR gets experiment.json, {train,test}-x.u8 (uint8 NHWC) and {train,test}-y.u8. With --check,
 * also check/: the pipeline's initial weights and its first STEPS training steps (reference-check.ts),
 * for `torch_from_config.py OUT_DIR --check`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadExperimentFile } from '../src/config/load';
import { loadDataset } from '../src/data';
import type { DatasetConfig } from '../src/data/types';
import type { BackendRequest } from '../src/backend';
import { writeCheck } from './reference-check';

async function main(): Promise<void> {
  const [file, out, ...rest] = process.argv.slice(2);
  if (!file || !out) throw new Error('usage: dump-experiment.js EXPERIMENT.yaml OUT_DIR [--set key=value ...]');
  const overrides = rest.flatMap((a, i) => (rest[i - 1] === '--set' ? [a] : []));
  const flag = (name: string) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
  const loaded = loadExperimentFile(file, { overrides });
  const e = loaded.experiment;
  const data = await loadDataset(e.dataset as DatasetConfig, { seed: e.seed, dataDir: process.env.PIPELINE_DATA_DIR });
  fs.mkdirSync(out, { recursive: true });
  for (const [name, split] of [
    ['train', data.train],
    ['test', data.test],
  ] as const) {
    fs.writeFileSync(path.join(out, `${name}-x.u8`), split.x);
    fs.writeFileSync(path.join(out, `${name}-y.u8`), split.y);
  }
  const meta = {
    experiment: e,
    hash: loaded.hash,
    shape: data.shape,
    classes: data.classes,
    counts: { train: data.train.n, test: data.test.n },
    layers: loaded.shapes.layers,
    totalParams: loaded.shapes.totalParams,
  };
  fs.writeFileSync(path.join(out, 'experiment.json'), JSON.stringify(meta, null, 1));
  const check = flag('--check');
  if (check) await writeCheck(out, loaded, data, (flag('--backend') ?? 'wasm') as BackendRequest, Number(check));
  process.stdout.write(`${out}: ${data.train.n} train, ${data.test.n} test, ${loaded.shapes.totalParams} parameters\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
