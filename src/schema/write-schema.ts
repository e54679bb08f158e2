import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExperimentSchema } from './experiment';

/**
 * The committed JSON schema for editors (`# yaml-language-server: $schema=...`),
 * generated from the registries. `npm run gen:schema` rewrites it; a test
 * fails when the committed copy is stale.
 */
export const SCHEMA_FILE = path.resolve(__dirname, '../../../schema/experiment.schema.json');

type Json = { [k: string]: unknown };

/**
 * The schema of what a user may write. ExperimentSchema describes the
 * resolved experiment, where every key with a default is present (so the
 * TypeScript type has it); in a file such keys are optional, or an editor
 * would ask for `batchSize`, `padding`, ... that the loader fills in.
 */
export function fileSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(fileSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema as Json)) {
    // `default` and `const`/`enum` values are data, not schemas: copied as they are.
    out[k] = k === 'default' || k === 'const' || k === 'enum' || k === 'examples' ? v : fileSchema(v);
  }
  const props = out.properties as Record<string, Json> | undefined;
  if (Array.isArray(out.required) && props) {
    out.required = (out.required as string[]).filter((key) => props[key]?.default === undefined);
  }
  return out;
}

export function renderSchema(): string {
  return (
    JSON.stringify(
      { $schema: 'http://json-schema.org/draft-07/schema#', ...(fileSchema(ExperimentSchema) as Json) },
      null,
      2,
    ) + '\n'
  );
}

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, renderSchema());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
