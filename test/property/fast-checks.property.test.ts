/**
 * The cheaper forms of three checks on the request path answer as the forms they replaced, kept here as oracles:
 * URLs (`URL.canParse` for `new URL(value).hostname !== ''`), the nesting limit (a bounded recursive walk before
 * the exact iterative one), path segments (one pattern test before the checks one by one), null removal (a null-free walk before the copy), and result event ids (one-shot
 * `crypto.hash` for a Hash object).
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { eventIdFor } from '../../shared/domain/cloud-event';
import { backendUrl, isHttpUrl, proxyUrl } from '../../shared/domain/contract/field-types';
import { exceedsDepth } from '../../shared/domain/contract/json-depth';
import { withoutNulls } from '../../shared/domain/contract/body-rules';
import { segmentProblem, type SegmentName } from '../../shared/domain/contract/safe-segment';

/** The URL check as it was: the parsed URL's hostname. */
function oldIsUrlOf(value: string, schemes: readonly string[]): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme) || /\s/.test(value)) return false;
  try {
    return new URL(value).hostname !== '';
  } catch {
    return false;
  }
}

/** The nesting check as it was: iterative, each object once. */
function oldExceedsDepth(value: unknown, limit = 64): boolean {
  const stack: Array<{ item: unknown; depth: number }> = [{ item: value, depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { item, depth } = stack.pop()!;
    if (item === null || typeof item !== 'object' || seen.has(item)) continue;
    if (depth + 1 > limit) return true;
    seen.add(item);
    const children: unknown[] = Array.isArray(item) ? item : Object.values(item as Record<string, unknown>);
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push({ item: child, depth: depth + 1 });
    }
  }
  return false;
}

const urlish = fc.oneof(
  fc.webUrl({ withFragments: true, withQueryParameters: true }),
  fc
    .tuple(
      fc.constantFrom('http', 'https', 'HTTPS', 'ws', 'wss', 'ftp', 'file', 'fabric', 'h'),
      fc.constantFrom('://', ':/', ':', '://@', '://:80', '://[', '://[::1]', '://user:pw@', '///', '://%'),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    )
    .map(([scheme, sep, rest, tail]) => `${scheme}${sep}${rest}${tail}`),
  fc.string({ maxLength: 30 }),
);

describe('URL checks', () => {
  it('isHttpUrl, url, resourceId and proxy.url answer as new URL(value).hostname did', () => {
    fc.assert(
      fc.property(urlish, (value) => {
        expect(isHttpUrl(value)).toBe(oldIsUrlOf(value, ['http', 'https']));
        const backendOk =
          value.length >= 1 &&
          value.length <= 2000 &&
          (oldIsUrlOf(value, ['http', 'https', 'ws', 'wss']) || /^fabric:\/[^/\s]\S*$/i.test(value));
        expect(backendUrl.safeParse(value).success).toBe(backendOk);
        expect(proxyUrl.safeParse(value).success).toBe(value.length >= 1 && value.length <= 2000 && isHttpUrl(value));
      }),
      { numRuns: 5000 },
    );
  });

  it.each(['http://', 'https://:80/', 'http://@/', 'ws://[::1]', 'http:///x', 'https://a b', 'wss://h?q#f'])(
    '%j: the same answer',
    (value) => {
      expect(isHttpUrl(value)).toBe(oldIsUrlOf(value, ['http', 'https']));
      expect(backendUrl.safeParse(value).success).toBe(oldIsUrlOf(value, ['http', 'https', 'ws', 'wss']));
    },
  );
});

/** JSON values nested up to ~80 levels: arrays and objects around a leaf. */
const nested = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'o', 'w'), { maxLength: 80 }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  )
  .map(([wraps, leaf, siblings]) =>
    wraps.reduce<unknown>((inner, kind, i) => {
      if (kind === 'a') return [inner, ...siblings];
      if (kind === 'o') return { x: inner, s: siblings[i % Math.max(1, siblings.length)] ?? null };
      return { w: [siblings, { y: inner }] };
    }, leaf),
  );

describe('nesting limit', () => {
  it('answers as the iterative walk did, at the default limit and at small ones', () => {
    fc.assert(
      fc.property(nested, fc.integer({ min: 1, max: 70 }), (value, limit) => {
        expect(exceedsDepth(value)).toBe(oldExceedsDepth(value));
        expect(exceedsDepth(value, limit)).toBe(oldExceedsDepth(value, limit));
      }),
      { numRuns: 2000 },
    );
  });

  it('shared sub-objects and cycles get the iterative answer too', () => {
    const shared = { leaf: [1] };
    const dag = { a: shared, b: [shared, { c: shared }] };
    const cycle: Record<string, unknown> = { a: {} };
    (cycle['a'] as Record<string, unknown>)['back'] = cycle;
    // 2^40 paths through 40 levels of one shared pair: the walk's node budget hands it to the iterative walk.
    let diamond: unknown = { end: true };
    for (let i = 0; i < 40; i++) diamond = { l: diamond, r: diamond };
    for (const value of [dag, cycle, diamond]) {
      for (const limit of [1, 2, 3, 41, 64]) expect(exceedsDepth(value, limit)).toBe(oldExceedsDepth(value, limit));
    }
  });
});

/** Null removal as it was: one walk that copies only what holds a null. */
function oldWithoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const kept = oldWithoutNulls(item);
      if (kept !== item && copy === undefined) copy = value.slice(0, i);
      if (copy !== undefined) copy.push(kept);
    }
    return copy ?? value;
  }
  if (typeof value !== 'object' || value === null) return value;
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  let copy: Record<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = source[key];
    const kept = item === null ? null : oldWithoutNulls(item);
    if (copy === undefined && (item === null || kept !== item)) {
      copy = {};
      for (let j = 0; j < i; j++)
        Object.defineProperty(copy, keys[j]!, { value: source[keys[j]!], enumerable: true, writable: true });
    }
    if (copy !== undefined && item !== null)
      Object.defineProperty(copy, key, { value: kept, enumerable: true, writable: true });
  }
  return copy ?? value;
}

describe('null removal', () => {
  it('gives what the copying walk gave, and the value itself when it holds no null property', () => {
    const withNulls = fc
      .jsonValue({ maxDepth: 5 })
      .chain((v) =>
        fc.constantFrom(
          v,
          { properties: v, url: null },
          [v, null, { a: null, b: [v] }],
          JSON.parse('{"__proto__":null,"x":1}') as unknown,
        ),
      );
    fc.assert(
      fc.property(withNulls, (value) => {
        const now = withoutNulls(value);
        const before = oldWithoutNulls(value);
        // Node's deep equality: Jest's toStrictEqual compares own "constructor" keys as constructors.
        expect(isDeepStrictEqual(now, before)).toBe(true);
        expect(JSON.stringify(now)).toBe(JSON.stringify(before));
        expect(now === value).toBe(before === value);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('result event ids', () => {
  it('are the SHA-256 of requestId, status, error code and ARM status, UUID-shaped', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.constantFrom<'succeeded' | 'failed' | 'rejected'>('succeeded', 'failed', 'rejected'),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
        (requestId, status, code, httpStatus) => {
          const outcome = {
            requestId,
            status,
            httpStatus,
            ...(code === undefined ? {} : { error: { code, message: 'm' } }),
          };
          const h = createHash('sha256')
            .update([requestId, status, code ?? '', String(httpStatus ?? '')].join('\n'))
            .digest('hex');
          expect(eventIdFor(outcome)).toBe(
            `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`,
          );
        },
      ),
    );
  });
});

/** The segment checks as they were, one by one (rules copied from safe-segment.ts). */
const OLD_RULES: Record<SegmentName, { max: number; pattern: RegExp; reason: string; noTrailingDot: boolean }> = {
  subscriptionId: {
    max: 36,
    pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    reason: 'must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
    noTrailingDot: false,
  },
  resourceGroupName: {
    max: 90,
    pattern: /^[-\w.()]+$/,
    reason: 'must contain only letters, digits and the characters - _ . ( )',
    noTrailingDot: true,
  },
  serviceName: {
    max: 50,
    pattern: /^[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/,
    reason: 'must start with a letter, end with a letter or digit, and contain only letters, digits and -',
    noTrailingDot: false,
  },
  workspaceId: {
    max: 80,
    pattern: /^[A-Za-z0-9._~()!$',;=@-]+$/,
    reason: "must contain only letters, digits and the characters . _ ~ ( ) ! $ ' , ; = @ -",
    noTrailingDot: true,
  },
  backendId: {
    max: 80,
    pattern: /^[A-Za-z0-9._~()!$',;=@-]+$/,
    reason: "must contain only letters, digits and the characters . _ ~ ( ) ! $ ' , ; = @ -",
    noTrailingDot: true,
  },
};

function oldSegmentProblem(name: SegmentName, value: string): { code: string; reason: string } | undefined {
  const rule = OLD_RULES[name];
  if (value.length === 0) return { code: 'TooShort', reason: 'must not be empty' };
  let unsafe: string | undefined;
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) unsafe = 'must not contain control characters';
  else if (value.trim() !== value) unsafe = 'must not begin or end with whitespace';
  else if (value.includes('/') || value.includes('\\')) unsafe = "must not contain '/' or '\\'";
  else if (value.includes('..')) unsafe = "must not contain '..'";
  else if (value.includes('?') || value.includes('#')) unsafe = "must not contain '?' or '#'";
  else if (value.includes('%')) unsafe = "must not contain '%' (percent-encoded text is not accepted)";
  else if (/[^\u0021-\u007e]/.test(value)) {
    unsafe = 'must contain only printable ASCII characters (spaces and look-alikes of / and . are refused)';
  }
  if (unsafe !== undefined) return { code: 'UnsafePathSegment', reason: unsafe };
  if (value.length > rule.max) return { code: 'TooLong', reason: `must be at most ${rule.max} characters` };
  if (!rule.pattern.test(value)) return { code: 'InvalidFormat', reason: rule.reason };
  if (rule.noTrailingDot && value.endsWith('.')) return { code: 'InvalidFormat', reason: "must not end with '.'" };
  return undefined;
}

describe('path segments', () => {
  it('every segment gets the problem the checks one by one found, or none', () => {
    const names = Object.keys(OLD_RULES) as SegmentName[];
    const value = fc.oneof(
      fc.string({
        unit: fc.constantFrom('a', 'Z', '0', 'f', '-', '_', '.', '(', ')', '~', '!', '@', ' ', '/', '\n', '%'),
        maxLength: 95,
      }),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 10 }),
      fc.uuid().map((u) => u.toUpperCase()),
      fc.constantFrom(
        'rg1',
        'a..b',
        'a.',
        '.a',
        'x'.repeat(36),
        'x'.repeat(37),
        'x'.repeat(80),
        'x'.repeat(81),
        'x'.repeat(91),
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...names), value, (name, v) => {
        expect(segmentProblem(name, v)).toStrictEqual(oldSegmentProblem(name, v));
      }),
      { numRuns: 10000 },
    );
  });
});
