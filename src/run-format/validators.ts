import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ValidateFunction } from 'ajv';

/**
 * The run-file schemas compiled. Loading TypeBox and compiling with ajv takes a few hundred
 * milliseconds, more than `pipeline ls` spends reading thousands of runs; so the build (`npm
 * run build`) writes the compiled validators as one standalone module into dist/ (as
 * config/validator.ts does for experiments), and readers require it (a few ms). Without it
 * (a checkout not built with `npm run build`) they are compiled at first use. The build
 * empties dist/ first, so the module always comes from the schemas beside it.
 */

/** A run-file schema's name (run-format/schemas.ts; a type-only import, so TypeBox is not loaded). */
export type RunFileSchema = keyof typeof import('./schemas').RUN_FILE_SCHEMAS;

export const GENERATED_RUN_FILE_VALIDATORS = path.resolve(__dirname, '../generated/run-file-validators.js');

/** allErrors: every problem at once; verbose: errors carry the data and schema that messages quote. */
const AJV_OPTIONS = { allErrors: true, verbose: true, strict: false } as const;

let validators: Record<RunFileSchema, ValidateFunction> | undefined;

export function runFileValidator(name: RunFileSchema): ValidateFunction {
  validators ??= loadGenerated() ?? compileRunFileValidators();
  return validators[name];
}

function loadGenerated(): Record<RunFileSchema, ValidateFunction> | undefined {
  if (!fs.existsSync(GENERATED_RUN_FILE_VALIDATORS)) return undefined;
  return require(GENERATED_RUN_FILE_VALIDATORS) as Record<RunFileSchema, ValidateFunction>;
}

function schemas(): Record<RunFileSchema, object> {
  return (require('./schemas') as typeof import('./schemas')).RUN_FILE_SCHEMAS;
}

/** The validators compiled now (what a checkout without the generated module uses). */
export function compileRunFileValidators(): Record<RunFileSchema, ValidateFunction> {
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const ajv = new Ajv(AJV_OPTIONS);
  const all = schemas();
  const out = {} as Record<RunFileSchema, ValidateFunction>;
  for (const name of Object.keys(all) as RunFileSchema[]) out[name] = ajv.compile(all[name]);
  return out;
}

/** Build step: `node dist/src/run-format/validators.js` writes the standalone module. */
if (require.main === module) {
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const standaloneCode = (require('ajv/dist/standalone') as typeof import('ajv/dist/standalone')).default;
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const all = schemas();
  for (const [name, schema] of Object.entries(all)) ajv.addSchema(schema, name);
  const source = standaloneCode(ajv, Object.fromEntries(Object.keys(all).map((n) => [n, n])));
  fs.mkdirSync(path.dirname(GENERATED_RUN_FILE_VALIDATORS), { recursive: true });
  const tmp = `${GENERATED_RUN_FILE_VALIDATORS}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, source);
  fs.renameSync(tmp, GENERATED_RUN_FILE_VALIDATORS);
}
