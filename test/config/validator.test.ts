import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { compileValidator } from '../../src/config/validator';
import { ExperimentSchema } from '../../src/schema/experiment';
import { FIXTURES, SEED } from './helpers';

/** The cached, standalone validator must behave exactly like a freshly compiled one. */

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-validator-'));
const cachedFiles = (dir: string) => fs.readdirSync(path.join(dir, 'validators'));

/** Documents to compare the validators on: the seed and every bad fixture that parses as YAML. */
function documents(): unknown[] {
  const docs: unknown[] = [parseYaml(fs.readFileSync(SEED, 'utf8'))];
  for (const f of fs.readdirSync(path.join(FIXTURES, 'bad'))) {
    try {
      docs.push(parseYaml(fs.readFileSync(path.join(FIXTURES, 'bad', f), 'utf8'), { maxAliasCount: 100 }));
    } catch {
      // not YAML: the parse stage's business, not the validator's
    }
  }
  return docs;
}

describe('compileValidator', () => {
  it('writes the compiled validator to the cache, and uses it next time', () => {
    const dir = tmp();
    compileValidator(ExperimentSchema, dir);
    const [file] = cachedFiles(dir);
    assert.match(file, /^experiment-[0-9a-f]{16}\.js$/);
    // Mark the cached module: if the second call returns the mark, it loaded the cache instead of compiling.
    fs.appendFileSync(path.join(dir, 'validators', file), '\nmodule.exports.fromCache = true;\n');
    const again = compileValidator(ExperimentSchema, dir) as unknown as { fromCache?: boolean };
    assert.equal(again.fromCache, true);
  });

  it('the cached validator reports exactly what a fresh ajv compile reports', () => {
    const dir = tmp();
    compileValidator(ExperimentSchema, dir);
    const cached = compileValidator(ExperimentSchema, dir);
    const fresh = new Ajv({ allErrors: true, discriminator: true, verbose: true, strict: false }).compile(ExperimentSchema);
    const docs = documents();
    assert.ok(docs.length > 40);
    let invalid = 0;
    for (const d of docs) {
      const a = fresh(structuredClone(d));
      const b = cached(structuredClone(d));
      assert.equal(b, a);
      // As JSON: the fresh errors' parentSchema is TypeBox's object, with symbol keys that no message reads.
      assert.deepEqual(JSON.parse(JSON.stringify(cached.errors ?? null)), JSON.parse(JSON.stringify(fresh.errors ?? null)));
      if (!a) invalid++;
    }
    assert.ok(invalid > 20, `${invalid} invalid documents`);
  });

  it('a broken cache file is replaced; a cache that cannot be written is not needed', () => {
    const dir = tmp();
    compileValidator(ExperimentSchema, dir);
    const file = path.join(dir, 'validators', cachedFiles(dir)[0]);
    fs.writeFileSync(file, 'this is not javascript (');
    const v = compileValidator(ExperimentSchema, dir);
    assert.equal(v(parseYaml(fs.readFileSync(SEED, 'utf8'))), false); // the raw seed lacks defaults: the resolved schema wants them
    assert.match(fs.readFileSync(file, 'utf8'), /^"use strict";/);

    const blocked = tmp();
    fs.writeFileSync(path.join(blocked, 'validators'), 'a file where the folder should be');
    const w = compileValidator(ExperimentSchema, blocked);
    assert.equal(w({}), false);
  });

  it('another schema gets another file', () => {
    const dir = tmp();
    compileValidator(ExperimentSchema, dir);
    const other = compileValidator({ type: 'object', properties: { a: { type: 'integer' } } }, dir);
    assert.equal(cachedFiles(dir).length, 2);
    assert.equal(other({ a: 1 }), true);
    assert.equal(other({ a: 'x' }), false);
  });
});
