import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExperimentSchema } from './experiment';

/**
 * The committed JSON schema for editors (`# yaml-language-server: $schema=...`),
 * generated from the registries. `npm run gen:schema` rewrites it; a test
 * fails when the committed copy is stale.
 */
export const SCHEMA_FILE = path.resolve(__dirname, '../../../schema/experiment.schema.json');

export function renderSchema(): string {
  return JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...ExperimentSchema }, null, 2) + '\n';
}

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, renderSchema());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
