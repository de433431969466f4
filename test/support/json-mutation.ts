/**
 * Mutations of JSON values for property tests: every path of a value, and one mutation applied at a path of a deep
 * copy (the value given is left as it is).
 */

/** One edit at a path: replace the value, delete it, add a key under it, upper-case it, or splice a token into it. */
export type Mutation =
  | { kind: 'replace'; value: unknown }
  | { kind: 'delete' }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'case' }
  | { kind: 'inject'; token: string; at: number };

/** Every path (as key lists) of a JSON value, the root excluded. */
export function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

/** Applies `mutation` at `path` of a deep copy of `base` (the copy unchanged when the path is the root). */
export function mutate(base: unknown, path: (string | number)[], mutation: Mutation): unknown {
  const copy = JSON.parse(JSON.stringify(base)) as unknown;
  if (path.length === 0) return copy;
  const key = path[path.length - 1]!;
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  switch (mutation.kind) {
    case 'replace':
      parent[key] = mutation.value;
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 'add': {
      const holder = parent[key];
      if (holder !== null && typeof holder === 'object' && !Array.isArray(holder)) {
        (holder as Record<string, unknown>)[mutation.key] = mutation.value;
      } else parent[key] = { [mutation.key]: mutation.value };
      break;
    }
    case 'case': {
      const current = parent[key];
      if (typeof current === 'string') parent[key] = current.toUpperCase();
      break;
    }
    case 'inject': {
      const current = parent[key];
      const text = typeof current === 'string' ? current : String(JSON.stringify(current));
      const at = mutation.at % (text.length + 1);
      parent[key] = `${text.slice(0, at)}${mutation.token}${text.slice(at)}`;
      break;
    }
  }
  return copy;
}
