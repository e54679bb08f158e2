import { branchFor, isPlainObject, type JsonSchema } from './schema-walk';

/**
 * The defaults stage: fills every missing key that has a `default` in the
 * schema, recursively, following `type` discriminators into layer, optimizer
 * and schedule entries. Runs before validation so the validated, resolved
 * experiment is complete. Tolerates wrong types (validation reports them).
 */
export function applyDefaults(schema: JsonSchema, data: unknown): void {
  const s = branchFor(schema, data) ?? schema;
  if (isPlainObject(data) && s.properties) {
    for (const [key, sub] of Object.entries(s.properties)) {
      if (data[key] === undefined && sub.default !== undefined) data[key] = structuredClone(sub.default);
      if (data[key] !== undefined) applyDefaults(sub, data[key]);
    }
  } else if (Array.isArray(data) && s.items && !Array.isArray(s.items)) {
    for (const item of data) applyDefaults(s.items, item);
  }
}
