import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { resolveCacheDir } from '../data/paths';
import { writeFileAtomic } from '../util/atomic';

/** allErrors: every problem at once; verbose: errors carry the data and schema that messages quote. */
const AJV_OPTIONS = { allErrors: true, discriminator: true, verbose: true, strict: false } as const;

const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;

/**
 * The experiment schema's validator. ajv needs 0.3-0.6 s to compile it, about
 * half of what `validate` may take, so the generated code is kept in the cache
 * folder ($PIPELINE_CACHE_DIR, else ~/.cache/pipeline) as a standalone module,
 * named by a hash of the schema, ajv's version and its options: any change
 * makes a new file. Loading it takes ~60 ms. A missing, unreadable or broken
 * cache file only costs the compile; a read-only cache folder too.
 */
export function compileValidator(schema: object, cacheDir: string = resolveCacheDir({})): ValidateFunction {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify(schema))
    .update(`ajv ${AJV_VERSION} ${JSON.stringify(AJV_OPTIONS)}`)
    .digest('hex')
    .slice(0, 16);
  const file = path.join(cacheDir, 'validators', `experiment-${key}.js`);
  const cached = loadStandalone(file);
  if (cached) return cached;

  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const validate = ajv.compile(schema);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, standaloneCode(ajv, validate));
  } catch {
    // No cache (read-only home, full disk): validation works the same, only slower next time.
  }
  return validate;
}

/**
 * Evaluates the cached module with this module's `require`, so its
 * `require("ajv/dist/runtime/...")` resolves to our ajv wherever the cache is.
 */
function loadStandalone(file: string): ValidateFunction | undefined {
  let code: string;
  try {
    code = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const mod: { exports: unknown } = { exports: {} };
    new Function('module', 'exports', 'require', code)(mod, mod.exports, require);
    return typeof mod.exports === 'function' ? (mod.exports as ValidateFunction) : undefined;
  } catch {
    return undefined;
  }
}
