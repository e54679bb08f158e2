import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';

/** allErrors: every problem at once; verbose: errors carry the data and schema that messages quote. */
const AJV_OPTIONS = { allErrors: true, discriminator: true, verbose: true, strict: false } as const;
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;

/**
 * ajv needs 0.3-0.6 s to compile the experiment schema, most of what
 * `validate` may take. So the build (`npm run build`, run by `npm ci`)
 * writes the compiled validator as a standalone module into dist/, and the
 * loader requires it (~60 ms). The module records a hash of the schema, ajv's
 * version and options; if it is missing or stale (a registry changed without
 * a rebuild), the validator is compiled at run time instead. Nothing is
 * written to or executed from user folders.
 */
export const GENERATED_VALIDATOR = path.resolve(__dirname, '../generated/experiment-validator.js');

export function schemaKey(schema: object): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify(schema))
    .update(`ajv ${AJV_VERSION} ${JSON.stringify(AJV_OPTIONS)}`)
    .digest('hex');
}

export function compileFresh(schema: object): ValidateFunction {
  return new Ajv(AJV_OPTIONS).compile(schema);
}

/** Standalone module source: the validator plus the key it was built for. */
export function standaloneValidatorSource(schema: object): string {
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const validate = ajv.compile(schema);
  return `${standaloneCode(ajv, validate)}\nmodule.exports.schemaKey = ${JSON.stringify(schemaKey(schema))};\n`;
}

export function loadValidator(schema: object, file: string = GENERATED_VALIDATOR): ValidateFunction {
  try {
    const mod = require(file) as ValidateFunction & { schemaKey?: string };
    if (typeof mod === 'function' && mod.schemaKey === schemaKey(schema)) return mod;
  } catch {
    // Not built (running from a checkout without `npm run build`): compile below.
  }
  return compileFresh(schema);
}

/** Build step: `node dist/src/config/validator.js` writes the generated module. */
if (require.main === module) {
  // Imported here, not at the top: the runtime path must not depend on the schema module's load order.
  const { ExperimentSchema } = require('../schema/experiment') as typeof import('../schema/experiment');
  fs.mkdirSync(path.dirname(GENERATED_VALIDATOR), { recursive: true });
  const tmp = `${GENERATED_VALIDATOR}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, standaloneValidatorSource(ExperimentSchema));
  fs.renameSync(tmp, GENERATED_VALIDATOR);
}
