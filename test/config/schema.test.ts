import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { renderSchema, SCHEMA_FILE } from '../../src/schema/write-schema';
import {
  DOCS_FILE,
  README_END,
  README_FILE,
  README_START,
  renderConfigReference,
  renderTopLevelTable,
} from '../../src/schema/write-docs';
import { ExperimentSchema } from '../../src/schema/experiment';
import { ACTIVATIONS, INITIALIZERS } from '../../src/registry/schema-parts';
import { DATASET_NAMES } from '../../src/data/registry';
import { LAYERS } from '../../src/builders/layers';
import { OPTIMIZERS } from '../../src/builders/optimizers';
import { SCHEDULES } from '../../src/builders/schedules';
import { LOSSES } from '../../src/builders/losses';
import { METRICS } from '../../src/builders/metrics';
import { loadExperimentFile } from '../../src/config/load';
import type { JsonSchema } from '../../src/config/schema-walk';
import { FIXTURES, REPO, SEED } from './helpers';

/**
 * The committed JSON schema (for editors) and the generated docs are derived
 * from the registries; these tests fail when either is stale, and check that
 * the committed schema alone is usable by a third-party validator.
 */

const committedText = fs.readFileSync(SCHEMA_FILE, 'utf8');
const committed = JSON.parse(committedText) as JsonSchema;

/** The committed schema's branches of a discriminated union, by `type`. */
function branches(s: JsonSchema | undefined): Map<string, JsonSchema> {
  assert.ok(s?.oneOf && s.discriminator, 'a discriminated union');
  return new Map(s.oneOf.map((b) => [String(b.properties?.type?.const), b]));
}

const P = committed.properties!;
const TRAINING = P.training.properties!;

describe('schema/experiment.schema.json', () => {
  it('is what `npm run gen:schema` generates now', () => {
    assert.ok(
      renderSchema() === committedText,
      'schema/experiment.schema.json is stale: run `npm run gen:schema` and commit it',
    );
  });

  it('lives where the seed config says ($schema comment for yaml-language-server)', () => {
    const first = fs.readFileSync(SEED, 'utf8').split('\n')[0];
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    assert.ok(m, first);
    assert.equal(path.resolve(path.dirname(SEED), m[1]), SCHEMA_FILE);
  });

  it('has every layer of the registry, with exactly its keys and the graph keys name and inputs', () => {
    const layers = branches(P.model.properties!.layers.items as JsonSchema);
    assert.deepEqual([...layers.keys()], LAYERS.names());
    for (const entry of LAYERS.entries) {
      assert.deepEqual(
        Object.keys(layers.get(entry.type)!.properties!),
        [...Object.keys(entry.schema.properties), 'name', 'inputs'],
        entry.type,
      );
    }
  });

  it('has every optimizer and schedule of the registries, with exactly their keys', () => {
    const opts = branches(TRAINING.optimizer);
    assert.deepEqual([...opts.keys()], OPTIMIZERS.names());
    for (const e of OPTIMIZERS.entries)
      assert.deepEqual(Object.keys(opts.get(e.type)!.properties!), Object.keys(e.schema.properties), e.type);
    const scheds = branches(TRAINING.schedule);
    assert.deepEqual([...scheds.keys()], SCHEDULES.names());
    for (const e of SCHEDULES.entries)
      assert.deepEqual(Object.keys(scheds.get(e.type)!.properties!), Object.keys(e.schema.properties), e.type);
  });

  it('has every loss, metric, dataset, activation and initializer', () => {
    assert.deepEqual(TRAINING.loss.enum, LOSSES.names());
    assert.deepEqual((TRAINING.metrics.items as JsonSchema).enum, METRICS.names());
    assert.deepEqual(P.dataset.properties!.name.enum, [...DATASET_NAMES]);
    const dense = branches(P.model.properties!.layers.items as JsonSchema).get('dense')!.properties!;
    assert.deepEqual(dense.activation.enum, [...ACTIVATIONS]);
    assert.deepEqual(dense.kernelInitializer.enum, [...INITIALIZERS]);
  });

  it('every key has a description (editors show it as a tooltip)', () => {
    const missing: string[] = [];
    const walk = (s: JsonSchema, where: string): void => {
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        const described = v.description !== undefined || (k === 'type' && v.const !== undefined);
        if (!described) missing.push(`${where}${k}`);
        walk(v, `${where}${k}.`);
      }
      for (const b of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) walk(b, where);
      if (s.items && !Array.isArray(s.items)) walk(s.items, `${where}[].`);
      for (const v of Object.values((s.patternProperties as Record<string, JsonSchema>) ?? {}))
        walk(v, `${where}<name>.`);
    };
    walk(committed, '');
    assert.deepEqual(missing, []);
  });

  it('ajv accepts the seed config against the committed file alone, and rejects a broken one', () => {
    const validate = new Ajv({ allErrors: true, discriminator: true, strict: false }).compile(committed);
    const seed = parseYaml(fs.readFileSync(SEED, 'utf8'));
    assert.ok(validate(seed), JSON.stringify(validate.errors));
    for (const f of ['lenet-commented.yaml', 'lenet-flow.yaml', 'lenet-explicit-defaults.yaml', 'minimal.yaml']) {
      assert.ok(validate(parseYaml(fs.readFileSync(path.join(FIXTURES, 'good', f), 'utf8'))), f);
    }
    const broken = structuredClone(seed) as { model: { layers: Array<Record<string, unknown>> } };
    broken.model.layers[5].units = 0;
    broken.model.layers[0].stride = 1;
    assert.equal(validate(broken), false);
    assert.deepEqual(validate.errors!.map((e) => e.instancePath).sort(), ['/model/layers/0', '/model/layers/5/units']);
  });

  it('keys with a default are optional in the file, but present in every resolved experiment', () => {
    assert.deepEqual(P.training.required, ['epochs', 'optimizer']);
    const internal = new Ajv({ discriminator: true, strict: false }).compile(ExperimentSchema);
    const resolved = structuredClone(loadExperimentFile(SEED).experiment);
    assert.ok(internal(resolved), JSON.stringify(internal.errors));
    const partial = structuredClone(resolved) as { training: Record<string, unknown> };
    delete partial.training.batchSize;
    assert.equal(internal(partial), false);
  });
});

describe('docs/config-reference.md', () => {
  const docs = fs.readFileSync(DOCS_FILE, 'utf8');

  it('is what `npm run gen:docs` generates now', () => {
    assert.ok(
      renderConfigReference() === docs,
      'docs/config-reference.md is stale: run `npm run gen:docs` and commit it',
    );
  });

  it('documents every registry entry and every name', () => {
    for (const t of LAYERS.names()) assert.ok(docs.includes(`#### model.layers[] ${t}\n`), t);
    for (const t of OPTIMIZERS.names()) assert.ok(docs.includes(`#### training.optimizer ${t}\n`), t);
    for (const t of SCHEDULES.names()) assert.ok(docs.includes(`#### training.schedule ${t}\n`), t);
    for (const t of [...LOSSES.names(), ...METRICS.names(), ...ACTIVATIONS, ...INITIALIZERS, ...DATASET_NAMES])
      assert.ok(docs.includes(`\`${t}\``), t);
  });

  it('every in-page link has its heading', () => {
    const anchors = new Set(
      docs
        .split('\n')
        .filter((l) => l.startsWith('#'))
        .map((l) =>
          l
            .replace(/^#+ /, '')
            .toLowerCase()
            .replace(/[^a-z0-9 _-]/g, '')
            .replace(/ /g, '-'),
        ),
    );
    const links = [...docs.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length > 20);
    assert.deepEqual(
      links.filter((l) => !anchors.has(l)),
      [],
    );
  });

  it('README.md includes the generated top-level table and links to the reference', () => {
    const readme = fs.readFileSync(README_FILE, 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    assert.ok(start !== -1 && end > start, 'README.md lacks the config-table markers');
    const table = readme.slice(start + README_START.length, end).trim();
    assert.ok(
      table === renderTopLevelTable('docs/config-reference.md').trim(),
      'the README config table is stale: run `npm run gen:docs`',
    );
    assert.ok(readme.includes('](docs/config-reference.md)'));
    assert.ok(fs.existsSync(path.join(REPO, 'docs/config-reference.md')));
  });
});
