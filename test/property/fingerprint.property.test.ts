/**
 * Fingerprints are stored in ledgers, so the fast implementation (canonical JSON written directly, HMAC as two
 * one-shot hashes) must give exactly the values of the one that wrote the stored records. That implementation is
 * kept here as the reference — a key-sorted, redacted copy of the request serialized by `JSON.stringify`, hashed
 * with `createHash`, its secrets covered by `createHmac` — and both are compared on random requests: nested objects
 * and arrays, any unicode (lone surrogates included), integer-like and `__proto__` keys, undefined, -0, NaN, secrets
 * in every secret-bearing place, targets as objects and as id strings.
 */
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { createFingerprinter } from '../../shared/domain/fingerprint';
import { comparableState } from '../../shared/domain/plan';
import { expectedStateHash, stateHash } from '../../shared/app/write-intent';
import type { ChangeRequest } from '../../shared/domain/contract/change-request';
import { REDACTED } from '../../shared/domain/redact';
import { backendResourceId, parseResourceId, type BackendTarget } from '../../shared/domain/backend-id';
import { isRecord } from '../../shared/domain/is-record';
import { scannedSecretPath } from '../support/scanned-secret-path';

// ---- The reference: the implementation before the rewrite, as it was. ----

function referenceVisible(request: unknown): { visible: string; secrets: string[] } {
  const secrets: string[] = [];
  const path: string[] = [];
  let json: string;
  if (isRecord(request)) {
    const out: Record<string, unknown> = {};
    for (const key of referenceKeys(request)) {
      if (key === 'requestId' || key === 'dryRun') continue;
      const value = key === 'target' ? referenceTarget(request[key]) : request[key];
      path.push(key);
      const copy = referenceCopy(value, path, secrets);
      path.pop();
      if (copy !== undefined) setOwn(out, key, copy);
    }
    json = JSON.stringify(out);
  } else {
    json = JSON.stringify(referenceCopy(request, path, secrets)) ?? 'null';
  }
  return { visible: createHash('sha256').update(json).digest('hex'), secrets };
}

function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true });
  else out[key] = value;
}

function referenceCopy(value: unknown, path: string[], secrets: string[]): unknown {
  if (value === null) return null;
  if (typeof value === 'object') {
    if (Array.isArray(value)) {
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = referenceCopy(value[i], path, secrets);
      return out;
    }
    const record = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of referenceKeys(record)) {
      path.push(key);
      const copy = referenceCopy(record[key], path, secrets);
      path.pop();
      if (copy !== undefined) setOwn(out, key, copy);
    }
    return out;
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (scannedSecretPath(path)) {
    if (typeof value === 'string' && value.length > 0) secrets.push(value);
    return REDACTED;
  }
  return value;
}

function referenceKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length < 2) return keys;
  const isIndex = (key: string) => /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 4294967295;
  let split = 0;
  while (split < keys.length && isIndex(keys[split]!)) split++;
  if (split === 0) return keys.sort();
  return [...keys.slice(0, split), ...keys.slice(split).sort()];
}

function referenceTarget(target: unknown): unknown {
  if (typeof target === 'string') {
    const parsed = parseResourceId(target);
    return parsed?.kind === 'backend' ? backendResourceId(parsed.target).toLowerCase() : target.trim().toLowerCase();
  }
  const required = ['subscriptionId', 'resourceGroupName', 'serviceName', 'backendId'] as const;
  if (
    isRecord(target) &&
    required.every((key) => typeof target[key] === 'string') &&
    (target.workspaceId === undefined || typeof target.workspaceId === 'string')
  ) {
    return backendResourceId(target as unknown as BackendTarget).toLowerCase();
  }
  return target;
}

function referenceFingerprint(request: unknown, key: string): string {
  const { visible, secrets } = referenceVisible(request);
  if (secrets.length === 0) return visible;
  const id = createHash('sha256').update(`apim-backend-changes/fingerprint-key-id\n${key}`).digest('hex').slice(0, 8);
  const hmac = createHmac('sha256', key)
    .update(`${visible}\n${JSON.stringify(secrets)}`)
    .digest('hex');
  return `${visible}.k-${id}.${hmac}`;
}

// ---- Random requests ----

const KEYS = [
  'credentials',
  'header',
  'query',
  'authorization',
  'parameter',
  'proxy',
  'password',
  'requestId',
  'dryRun',
  'target',
  '__proto__',
  'toJSON',
  '10',
  '2',
  '0',
  '01',
  '4294967294',
  '4294967295',
  'a',
  'B',
  'é',
  '😀',
];

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...'"\\\u0000\u001f\u2028\ud800\udc00aé😀/ ') }),
);

const value = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer(),
    fc.double(),
    fc.constantFrom(-0, Number.NaN, Infinity, 1e21, 5e-7, true, false, null, undefined),
    fc.array(tie('any'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), text), tie('any')), { maxLength: 5 }).map((entries) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) setOwn(out, key, item);
      return out;
    }),
  ),
}));

const target = fc.oneof(
  fc.record({
    subscriptionId: fc.string(),
    resourceGroupName: fc.string(),
    serviceName: fc.string(),
    backendId: fc.string(),
  }),
  fc.constantFrom(
    '/subscriptions/S/resourceGroups/RG/providers/Microsoft.ApiManagement/service/Svc/backends/B',
    '/subscriptions/s/resourceGroups/rg/providers/microsoft.apimanagement/service/svc/workspaces/W/backends/b/',
    '  /Not/A/Backend  ',
  ),
  value.any,
);

const secretValue = fc.oneof(text, value.any);
const request = fc.record(
  {
    requestId: fc.string(),
    operation: fc.constantFrom('createOrUpdate', 'update', 'delete'),
    target,
    dryRun: fc.boolean(),
    body: fc.record(
      {
        properties: fc.record(
          {
            url: text,
            proxy: fc.record({ url: text, username: text, password: secretValue }, { requiredKeys: [] }),
            credentials: fc.record(
              {
                header: fc.dictionary(text, fc.array(secretValue, { maxLength: 3 }), { maxKeys: 3 }),
                query: fc.dictionary(text, fc.array(secretValue, { maxLength: 3 }), { maxKeys: 3 }),
                authorization: fc.record({ scheme: text, parameter: secretValue }, { requiredKeys: [] }),
              },
              { requiredKeys: [] },
            ),
            extra: value.any,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    other: value.any,
  },
  { requiredKeys: ['operation'] },
);

const KEY = 'property-fingerprint-key-0123456789abcdef';
const LONG_KEY = `${'k'.repeat(70)}ü`;

describe('fingerprints against the implementation that wrote the stored ones', () => {
  const keyed = createFingerprinter({ current: KEY });
  const longKeyed = createFingerprinter({ current: LONG_KEY });

  it('are identical for random change requests', () => {
    fc.assert(
      fc.property(request, (random) => {
        expect(keyed.of(random).value).toBe(referenceFingerprint(random, KEY));
        expect(longKeyed.of(random).value).toBe(referenceFingerprint(random, LONG_KEY));
      }),
      { numRuns: 1500 },
    );
  });

  it('are identical for any value at all (the write intent hashes backend states, sets hash wrappers)', () => {
    fc.assert(
      fc.property(value.any, (random) => {
        expect(keyed.of(random).value).toBe(referenceFingerprint(random, KEY));
        expect(keyed.of({ changeSet: [random], atomic: true }).value).toBe(
          referenceFingerprint({ changeSet: [random], atomic: true }, KEY),
        );
      }),
      { numRuns: 1500 },
    );
  });

  it('order the keys of an object that does not list them as ordinary objects do (a Proxy) the same way', () => {
    const source = { b: 1, '10': 2, '9': 3, a: 4 };
    const shuffled = new Proxy(source, { ownKeys: () => ['b', '10', 'a', '9'] });
    expect(keyed.of({ body: shuffled }).value).toBe(referenceFingerprint({ body: shuffled }, KEY));
    expect(keyed.of({ body: shuffled }).value).toBe(keyed.of({ body: source }).value);
  });
});

describe("a createOrUpdate's state hash taken from the walk that fingerprinted its request", () => {
  const bodyKeys = fc.constantFrom('properties', 'id', 'type', 'name', 'target', 'requestId', 'dryRun', '__proto__');
  const stateBody = fc.oneof(
    request.map((random) => random.body ?? {}),
    fc.array(fc.tuple(fc.oneof(bodyKeys, text), value.any), { maxLength: 4 }).map((entries) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) setOwn(out, key, item);
      return out;
    }),
  );
  const createOrUpdate = fc.tuple(request, stateBody).map(([random, body]) => ({
    ...random,
    operation: 'createOrUpdate',
    body,
  }));

  it('is the hash of its comparable state, as computed on its own', () => {
    fc.assert(
      fc.property(createOrUpdate, (random) => {
        const fingerprints = createFingerprinter({ current: KEY });
        const alone = stateHash(random.body, fingerprints);
        const asRequest = random as unknown as ChangeRequest;
        expect(fingerprints.ofBody(random.body)).toBeUndefined();
        expect(expectedStateHash(asRequest, null, fingerprints)).toBe(alone);
        fingerprints.of(random);
        expect(expectedStateHash(asRequest, null, fingerprints)).toBe(alone);
        expect(alone).toBe(referenceFingerprint(comparableState(random.body), KEY));
        fingerprints.of(random);
        const taken = fingerprints.ofBody(random.body);
        if (taken !== undefined) {
          expect(taken.value).toBe(alone);
          expect(taken.matches(alone)).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('is taken from the walk for an ordinary body, secrets included', () => {
    const fingerprints = createFingerprinter({ current: KEY });
    const body = {
      properties: {
        url: 'https://example.com',
        proxy: { url: 'http://p', username: 'u', password: 'proxy-secret' },
        credentials: { header: { 'x-key': ['a', 'b'] }, authorization: { scheme: 'Basic', parameter: 'p4ss' } },
      },
    };
    fingerprints.of({ requestId: 'r', operation: 'createOrUpdate', target: 't', body });
    const taken = fingerprints.ofBody(body)?.value;
    expect(taken).toBe(referenceFingerprint(body, KEY));
    expect(taken).toMatch(/\.k-[0-9a-f]{8}\.[0-9a-f]{64}$/);
    // Taken once: nothing is kept for a body whose state hash was made.
    expect(fingerprints.ofBody(body)).toBeUndefined();
    // An update's state is merged into the current one: nothing is taken for it.
    const patch = { properties: { url: 'https://example.com' } };
    fingerprints.of({ requestId: 'r', operation: 'update', target: 't', body: patch });
    expect(fingerprints.ofBody(patch)).toBeUndefined();
  });
});
