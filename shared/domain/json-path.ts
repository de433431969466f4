/**
 * How the app spells a path into a JSON document, everywhere a path is shown (validation details, plans, redaction
 * by path): `properties.pool.services[0].weight`, with names that are not identifiers quoted so the path stays
 * unambiguous: `properties.credentials.header["x-api-key"]`. `splitPath` (domain/redact.ts) reads it back.
 */

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The path of `key` (an object key, or an array index) under `parent` ('' for the root). */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** The path of a list of keys from the root, e.g. a zod issue's `path`. */
export function formatPath(keys: readonly PropertyKey[]): string {
  return keys.reduce<string>((path, key) => childPath(path, typeof key === 'number' ? key : String(key)), '');
}
