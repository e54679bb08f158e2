import type { JsonSchema } from '../schema/json-schema';

/**
 * Walking the generated JSON schema alongside data: which sub-schema
 * applies at a path (following the `type` discriminator), used by the
 * defaults stage, `--set` path checks and error messages.
 */

/** The schema type is owned by src/schema; re-exported for callers that import it with the walkers. */
export type { JsonSchema } from '../schema/json-schema';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** For a discriminated union, the branch whose `type` const matches the data; else undefined. */
export function branchFor(schema: JsonSchema, data: unknown): JsonSchema | undefined {
  if (!schema.oneOf || !schema.discriminator) return undefined;
  if (!isPlainObject(data)) return undefined;
  const tag = data[schema.discriminator.propertyName];
  return schema.oneOf.find((b) => b.properties?.[schema.discriminator!.propertyName]?.const === tag);
}

/** The object schema that applies to `data`: itself, or its discriminated branch. */
export function resolveObjectSchema(schema: JsonSchema, data: unknown): JsonSchema {
  return branchFor(schema, data) ?? schema;
}

/** Names of all discriminated branches (`conv2d`, `dense`, ...). */
export function branchNames(schema: JsonSchema): string[] {
  if (!schema.oneOf || !schema.discriminator) return [];
  const key = schema.discriminator.propertyName;
  return schema.oneOf.map((b) => b.properties?.[key]?.const).filter((x): x is string => typeof x === 'string');
}

/** Sub-schema for a child key or index, given the parent's data. */
export function childSchema(schema: JsonSchema, parentData: unknown, seg: string | number): JsonSchema | undefined {
  const s = resolveObjectSchema(schema, parentData);
  if (typeof seg === 'number') {
    if (Array.isArray(s.items)) return s.items[seg];
    return s.items;
  }
  if (s.properties && Object.hasOwn(s.properties, seg)) return s.properties[seg];
  if (s.additionalProperties && typeof s.additionalProperties === 'object') return s.additionalProperties;
  return undefined;
}
