import { branchFor, isPlainObject, type JsonSchema } from './schema-walk';

/**
 * The defaults stage: fills every missing key that has a `default` in the
 * schema, recursively, following `type` discriminators into layer, optimizer
 * and schedule entries, plain unions of mappings (dataset.normalize) and
 * maps keyed by the user (sweep.parameters). Runs before validation so the
 * validated, resolved experiment is complete. Tolerates wrong types
 * (validation reports them).
 */
export function applyDefaults(schema: JsonSchema, data: unknown): void {
  const s = branchFor(schema, data) ?? unionBranch(schema, data) ?? schema;
  if (isPlainObject(data) && s.properties) {
    for (const [key, sub] of Object.entries(s.properties)) {
      if (data[key] === undefined && sub.default !== undefined) data[key] = structuredClone(sub.default);
      if (data[key] !== undefined) applyDefaults(sub, data[key]);
    }
  } else if (isPlainObject(data) && isPlainObject(s.patternProperties)) {
    // A record such as sweep.parameters: every value follows the one value schema.
    const [valueSchema] = Object.values(s.patternProperties as Record<string, JsonSchema>);
    if (valueSchema) for (const v of Object.values(data)) applyDefaults(valueSchema, v);
  } else if (Array.isArray(data) && s.items && !Array.isArray(s.items)) {
    for (const item of data) applyDefaults(s.items, item);
  }
}

/**
 * For an `anyOf` that is not discriminated, the mapping branch the data is
 * meant for: the only mapping branch, or the one whose `type` const matches.
 */
function unionBranch(schema: JsonSchema, data: unknown): JsonSchema | undefined {
  if (!schema.anyOf || !isPlainObject(data)) return undefined;
  const mappings = schema.anyOf.filter((b) => b.type === 'object');
  if (mappings.length === 1) return mappings[0];
  return mappings.find((b) => b.properties?.type?.const !== undefined && b.properties.type.const === data.type);
}
