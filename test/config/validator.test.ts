import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  compileFresh,
  GENERATED_VALIDATOR,
  loadValidator,
  schemaKey,
  standaloneValidatorSource,
} from '../../src/config/validator';
import { ExperimentSchema } from '../../src/schema/experiment';
import { FIXTURES, SEED } from './helpers';

/** The build-time, standalone validator must behave exactly like a freshly compiled one. */

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-validator-'));

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

describe('experiment validator', () => {
  it('the build wrote a generated validator for the current schema', () => {
    const mod = require(GENERATED_VALIDATOR) as { schemaKey?: string };
    assert.equal(mod.schemaKey, schemaKey(ExperimentSchema), 'stale generated validator: run `npm run build`');
    assert.equal(loadValidator(ExperimentSchema), mod);
  });

  it('the generated validator reports exactly what a fresh ajv compile reports', () => {
    const generated = loadValidator(ExperimentSchema);
    const fresh = compileFresh(ExperimentSchema);
    const docs = documents();
    assert.ok(docs.length > 40);
    let invalid = 0;
    for (const d of docs) {
      const a = fresh(structuredClone(d));
      const b = generated(structuredClone(d));
      assert.equal(b, a);
      // As JSON: the fresh errors' parentSchema is TypeBox's object, with symbol keys that no message reads.
      assert.deepEqual(
        JSON.parse(JSON.stringify(generated.errors ?? null)),
        JSON.parse(JSON.stringify(fresh.errors ?? null)),
      );
      if (!a) invalid++;
    }
    assert.ok(invalid > 20, `${invalid} invalid documents`);
  });

  it('a stale or missing module is not used: the schema is compiled instead', () => {
    const dir = tmp();
    const other = { type: 'object', properties: { a: { type: 'integer' } } };
    const file = path.join(dir, 'v.js');
    fs.writeFileSync(file, standaloneValidatorSource(other));
    const v = loadValidator(ExperimentSchema, file); // built for another schema
    assert.notEqual(v, require(file));
    assert.equal(v({}), false);
    assert.deepEqual(v.errors?.map((e) => e.params).slice(0, 1), [{ missingProperty: 'version' }]);
    const w = loadValidator(other, path.join(dir, 'missing.js'));
    assert.equal(w({ a: 1 }), true);
    assert.equal(w({ a: 'x' }), false);
    assert.equal(loadValidator(other, file), require(file));
  });
});
