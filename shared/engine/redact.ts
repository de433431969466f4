/**
 * Secret redaction: the one function every outward representation (outcomes, events, logs, errors, stored
 * records) goes through. Secret-bearing fields of a backend are `credentials.authorization.parameter`, every value
 * of `credentials.header` and `credentials.query`, and `proxy.password`, wherever a backend body appears (a request
 * body, an ARM response, a plan).
 */

/** What a redacted secret is replaced with. */
export const REDACTED = '[REDACTED]';

/** True when a value at this key path (from any root) holds a secret. */
export function isSecretPath(path: readonly string[]): boolean {
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next = path[i + 1];
    if (key === 'credentials' && (next === 'header' || next === 'query')) return path.length > i + 2;
    if (key === 'credentials' && next === 'authorization' && path[i + 2] === 'parameter') return true;
    if (key === 'proxy' && next === 'password') return true;
  }
  return false;
}

/**
 * Returns a deep copy of `value` with every secret replaced by {@link REDACTED}. `basePath` is where `value` sits
 * (e.g. `['properties', 'proxy']` for a plan entry), so fragments are redacted as surely as whole bodies.
 */
export function redactSecrets<T>(value: T, basePath: readonly string[] = []): T {
  return walk(value, [...basePath]) as T;
}

function walk(value: unknown, path: string[]): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) {
    // Array indices do not change whether a value is secret: keep the key path of the array itself.
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = walk(value[i], path);
    return copy;
  }
  if (typeof value === 'object') {
    // Keys and lookups rather than Object.entries: no [key, value] pair array per object.
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const keys = Object.keys(source);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      path.push(key);
      out[key] = walk(source[key], path);
      path.pop();
    }
    return out;
  }
  return isSecretPath(path) ? REDACTED : value;
}

/**
 * Splits a plan path such as `properties.pool.services[0].weight` or `properties.credentials.header["x-key"]`
 * into keys, dropping array indices (they do not change whether a value is secret).
 */
export function splitPath(path: string): string[] {
  const keys: string[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  let match: RegExpExecArray | null;
  while ((match = token.exec(path)) !== null) {
    if (match[1] !== undefined) keys.push(match[1]);
    else if (match[3] !== undefined) keys.push(JSON.parse(match[3]) as string);
  }
  return keys;
}

/** The secret values a body carries (by path), for scrubbing them from text that might echo them. */
export function secretValues(value: unknown): string[] {
  const found: string[] = [];
  // One path stack, pushed and popped, instead of a copied path per property.
  const path: string[] = [];
  const visit = (item: unknown): void => {
    if (Array.isArray(item)) for (let i = 0; i < item.length; i++) visit(item[i]);
    else if (item !== null && typeof item === 'object') {
      const source = item as Record<string, unknown>;
      const keys = Object.keys(source);
      for (let i = 0; i < keys.length; i++) {
        path.push(keys[i]!);
        visit(source[keys[i]!]);
        path.pop();
      }
    } else if (typeof item === 'string' && item.length > 0 && isSecretPath(path)) found.push(item);
  };
  visit(value);
  return found;
}

/**
 * Replaces every occurrence of the given secret values in every string of `value` (deep copy). A safeguard for
 * text we do not control, such as ARM's error messages, which are redacted by path but could echo a value.
 */
export function scrubSecretValues<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  const scrub = (item: unknown): unknown => {
    if (typeof item === 'string') return ordered.reduce((text, secret) => text.split(secret).join(REDACTED), item);
    if (Array.isArray(item)) return item.map(scrub);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item as Record<string, unknown>).map(([k, v]) => [k, scrub(v)]));
    }
    return item;
  };
  return scrub(value) as T;
}
