/**
 * Property-based tests of the change-request contract: whatever arrives, `parseChangeRequest` answers with a value
 * (never throws), a refusal is a `ValidationError` that names fields and never echoes what was sent, and nothing it
 * accepts can redirect an ARM URL path.
 */
import fc from 'fast-check';
import { backendPath, parseResourceId, type BackendTarget } from '../../shared/domain/backend-id';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import type { ErrorBody } from '../../shared/domain/contract/error-response';
import { mutate, pathsOf, type Mutation } from '../support/json-mutation';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const SEGMENTS = ['subscriptionId', 'resourceGroupName', 'serviceName', 'workspaceId', 'backendId'] as const;
type Segment = (typeof SEGMENTS)[number];

const VALID_SEGMENT: Record<Segment, string> = {
  subscriptionId: SUB,
  resourceGroupName: 'rg1',
  serviceName: 'apimService1',
  workspaceId: 'wks1',
  backendId: 'backend1',
};

/** Valid requests of every shape: one per operation, pools, workspaces, ids as strings, secrets. */
const BASES: readonly Record<string, unknown>[] = [
  {
    requestId: 'r-1',
    operation: 'createOrUpdate',
    target: { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'b1' },
    ifMatch: '*',
    dryRun: false,
    body: {
      properties: {
        url: 'https://b1.example/api',
        protocol: 'http',
        title: 't',
        credentials: {
          header: { 'x-key': ['h-secret'] },
          query: { code: ['q-secret'] },
          authorization: { scheme: 'Basic', parameter: 'p-secret' },
        },
        proxy: { url: 'http://proxy.example', username: 'u', password: 'pw-secret' },
        tls: { validateCertificateChain: true, validateCertificateName: false },
        circuitBreaker: {
          rules: [
            {
              name: 'r',
              failureCondition: { count: 3, interval: 'PT1H', statusCodeRanges: [{ min: 500, max: 599 }] },
              tripDuration: 'PT1H',
              acceptRetryAfter: true,
            },
          ],
        },
      },
    },
  },
  {
    operation: 'createOrUpdate',
    target: `${SERVICE_ID}/backends/pool1`,
    body: {
      properties: {
        type: 'Pool',
        pool: {
          services: [
            { id: `${SERVICE_ID}/backends/m1`, weight: 1, priority: 1 },
            { id: `${SERVICE_ID}/backends/m2`, weight: '2', priority: '1' },
          ],
        },
      },
    },
  },
  {
    operation: 'update',
    target: `${SERVICE_ID}/workspaces/wks1/backends/b1`,
    ifMatch: '"AAAAAAAAAAa="',
    body: { properties: { description: 'd', credentials: { header: { 'x-a': ['1', '2'] } } } },
  },
  { operation: 'reconnect', target: `${SERVICE_ID}/backends/b1`, body: { properties: { after: 'PT3S' } } },
  { operation: 'reconnect', target: { ...VALID_SEGMENT, workspaceId: undefined } },
  {
    requestId: 'del:1',
    operation: 'delete',
    target: { ...VALID_SEGMENT },
    dryRun: true,
  },
];

test('the base requests are valid (so mutations start from something accepted)', () => {
  for (const base of BASES) expect(parseChangeRequest(JSON.parse(JSON.stringify(base)))).toMatchObject({ ok: true });
});

/** Characters and sequences that could change which resource a URL path names, and look-alikes of them. */
const INJECTIONS = [
  '..',
  '.',
  '/',
  '\\',
  '%2F',
  '%2e%2e',
  '%',
  '?',
  '#',
  '?api-version=1',
  '\u2215', // division slash
  '\u2044', // fraction slash
  '\uFF0F', // fullwidth solidus
  '\uFF0E', // fullwidth full stop
  '\u2024', // one dot leader
  '\u0000',
  '\r\n',
  '\t',
  '\u0085', // next line (C1)
  '\u00A0', // no-break space
  '\u200B', // zero-width space
  '\u202E', // right-to-left override
  ' ',
];

/** Checks the shape every refusal must have, and returns its details. */
function expectRefusal(error: ErrorBody): NonNullable<ErrorBody['details']> {
  expect(error.code).toBe('ValidationError');
  expect(typeof error.message).toBe('string');
  const details = error.details ?? [];
  expect(details.length).toBeGreaterThan(0);
  for (const d of details) {
    expect(typeof d.code).toBe('string');
    expect(d.code).not.toBe('');
    expect(typeof d.message).toBe('string');
  }
  return details;
}

/** What an accepted target's segments must satisfy: printable ASCII, nothing that can end or escape a segment. */
function expectSafeSegments(target: BackendTarget): void {
  const segments = SEGMENTS.map((name) => target[name]).filter((s): s is string => s !== undefined);
  for (const s of segments) {
    expect(s).toMatch(/^[\x21-\x7e]+$/);
    expect(s).not.toMatch(/[/\\?#%]/);
    expect(s).not.toContain('..');
    expect(s).not.toBe('.');
  }
  // The URL built from them names exactly this backend: every segment stays one segment and decodes back.
  const url = new URL(`https://management.example${backendPath(target)}?api-version=2024-05-01`);
  const expected = [
    'subscriptions',
    target.subscriptionId,
    'resourceGroups',
    target.resourceGroupName,
    'providers',
    'Microsoft.ApiManagement',
    'service',
    target.serviceName,
    ...(target.workspaceId === undefined ? [] : ['workspaces', target.workspaceId]),
    'backends',
    target.backendId,
  ];
  expect(url.pathname.split('/').slice(1).map(decodeURIComponent)).toEqual(expected);
  expect(url.hash).toBe('');
  expect([...url.searchParams.keys()]).toEqual(['api-version']);
}

/** A value no message could contain by accident: if a refusal shows it, a sent value was echoed. */
const MARKER = 'zq-ECHO-7f3a91';

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({
    kind: fc.constant('replace' as const),
    value: fc.constantFrom<unknown>(MARKER, [MARKER], { x: MARKER }, '', null, 0, -1, 1e309, true, {}, []),
  }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({
    kind: fc.constant('add' as const),
    key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'urll', 'Properties'), fc.string({ maxLength: 8 })),
    value: fc.constant(MARKER),
  }),
  fc.record({ kind: fc.constant('inject' as const), token: fc.constantFrom(...INJECTIONS), at: fc.nat() }),
);

describe('parseChangeRequest on arbitrary input', () => {
  it('never throws on any JSON value; non-objects are refused as a whole, objects field by field', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parseChangeRequest(value);
        if (result.ok) {
          expectSafeSegments(result.request.target);
          return;
        }
        const details = expectRefusal(result.error);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          // There is no field to name: the request itself has the wrong type.
          expect(details).toEqual([{ code: 'InvalidType', message: expect.stringMatching(/^Must be an object/) }]);
        } else {
          for (const d of details) expect(d.target).toMatch(/^.+$/s);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('for request-shaped objects with any one field mutated: a value back, fields named, nothing echoed', () => {
    const arb = fc
      .record({ base: fc.constantFrom(...BASES), pick: fc.nat(), mutation: mutationArb })
      .map(({ base, pick, mutation }) => {
        const paths = pathsOf(base);
        const path = paths[pick % paths.length]!;
        return { input: mutate(base, path, mutation), path, mutation };
      });
    fc.assert(
      fc.property(arb, ({ input }) => {
        const result = parseChangeRequest(input);
        if (result.ok) {
          expectSafeSegments(result.request.target);
          return;
        }
        const details = expectRefusal(result.error);
        for (const d of details) expect(d.target).toMatch(/^.+$/s);
        expect(JSON.stringify(result.error)).not.toContain(MARKER);
      }),
      { numRuns: 2000 },
    );
  });

  it('for several fields mutated at once: still a value back with every detail naming a field', () => {
    const arb = fc
      .record({ base: fc.constantFrom(...BASES), edits: fc.array(fc.tuple(fc.nat(), mutationArb), { maxLength: 5 }) })
      .map(({ base, edits }) =>
        edits.reduce<unknown>((current, [pick, mutation]) => {
          const paths = pathsOf(current);
          return paths.length === 0 ? current : mutate(current, paths[pick % paths.length]!, mutation);
        }, base),
      );
    fc.assert(
      fc.property(arb, (input) => {
        const result = parseChangeRequest(input);
        if (result.ok) {
          expectSafeSegments(result.request.target);
          return;
        }
        for (const d of expectRefusal(result.error)) expect(d.target).toMatch(/^.+$/s);
      }),
      { numRuns: 1000 },
    );
  });

  it('for loosely request-shaped records of arbitrary values: never throws, every refusal names a field', () => {
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'binary', maxLength: 20 }));
    const arb = fc.record(
      {
        requestId: fc.oneof(fc.string({ maxLength: 140 }), anyValue),
        operation: fc.oneof(fc.constantFrom('createOrUpdate', 'update', 'reconnect', 'delete', 'Delete'), anyValue),
        target: fc.oneof(
          fc.constant(`${SERVICE_ID}/backends/b1`),
          fc.string().map((s) => `${SERVICE_ID}/backends/${s}`),
          fc.dictionary(fc.constantFrom(...SEGMENTS, 'extra'), fc.oneof(fc.string(), anyValue)),
          anyValue,
        ),
        ifMatch: fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), anyValue),
        body: fc.oneof(
          fc.record({ properties: fc.dictionary(fc.string({ maxLength: 12 }), anyValue) }),
          fc.constant({ properties: { url: 'https://x/', protocol: 'http' } }),
          anyValue,
        ),
        dryRun: fc.oneof(fc.boolean(), anyValue),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arb, (input) => {
        const result = parseChangeRequest(input);
        if (result.ok) {
          expectSafeSegments(result.request.target);
          return;
        }
        for (const d of expectRefusal(result.error)) expect(d.target).toMatch(/^.+$/s);
      }),
      { numRuns: 1000 },
    );
  });
});

/** Strings likely to break a path segment: arbitrary code units, and valid-looking text with tokens spliced in. */
const segmentValue = (segment: Segment): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({
      unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', '(', '!', '@', ...INJECTIONS),
      maxLength: 12,
    }),
    fc.tuple(fc.constantFrom(...INJECTIONS), fc.nat()).map(([token, at]) => {
      const valid = VALID_SEGMENT[segment];
      const i = at % (valid.length + 1);
      return `${valid.slice(0, i)}${token}${valid.slice(i)}`;
    }),
    fc.constant(VALID_SEGMENT[segment]),
  );

const targetObjectArb = fc.record({
  subscriptionId: segmentValue('subscriptionId'),
  resourceGroupName: segmentValue('resourceGroupName'),
  serviceName: segmentValue('serviceName'),
  workspaceId: fc.option(segmentValue('workspaceId'), { nil: undefined }),
  backendId: segmentValue('backendId'),
});

describe('path segments', () => {
  it('whatever a segment holds, an accepted target is printable ASCII and cannot redirect the URL', () => {
    fc.assert(
      fc.property(targetObjectArb, fc.boolean(), (segments, asString) => {
        const t = { ...segments } as Record<string, string | undefined>;
        if (t['workspaceId'] === undefined) delete t['workspaceId'];
        const target = asString
          ? `/subscriptions/${t['subscriptionId']}/resourceGroups/${t['resourceGroupName']}/providers/Microsoft.ApiManagement/service/${t['serviceName']}${t['workspaceId'] === undefined ? '' : `/workspaces/${t['workspaceId']}`}/backends/${t['backendId']}`
          : t;
        const result = parseChangeRequest({ operation: 'delete', target });
        if (result.ok) {
          expectSafeSegments(result.request.target);
          return;
        }
        const details = expectRefusal(result.error);
        for (const d of details) expect(d.target).toMatch(asString ? /^target$/ : /^target\.\w+$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('the same holds for pool member ids', () => {
    fc.assert(
      fc.property(segmentValue('backendId'), (member) => {
        const result = parseChangeRequest({
          operation: 'createOrUpdate',
          target: `${SERVICE_ID}/backends/pool1`,
          body: { properties: { type: 'Pool', pool: { services: [{ id: `${SERVICE_ID}/backends/${member}` }] } } },
        });
        if (result.ok) {
          // The id is kept as written (a trailing slash included); what it names must be a safe backend.
          const body = result.request.body as { properties: { pool: { services: { id: string }[] } } };
          const parsed = parseResourceId(body.properties.pool.services[0]?.id ?? '');
          expect(parsed?.kind).toBe('backend');
          if (parsed?.kind === 'backend') expectSafeSegments(parsed.target);
          return;
        }
        const targets = expectRefusal(result.error).map((d) => d.target);
        expect(targets).toContain('body.properties.pool.services[0].id');
      }),
      { numRuns: 500 },
    );
  });

  const explicit = ['..', '/', '%2F', '?', '#', '\u2215', '\uFF0F', '\u2024', '\u0000'];

  describe.each(SEGMENTS)('%s', (segment) => {
    const valid = VALID_SEGMENT[segment];
    const variants = (token: string): string[] => [
      token,
      `${valid}${token}`,
      `${token}${valid}`,
      `${valid.slice(0, 2)}${token}${valid.slice(2)}`,
      `${valid}${token}x`,
    ];

    it.each(explicit)('refuses %j in a target object with UnsafePathSegment at target.' + segment, (token) => {
      for (const value of variants(token)) {
        const result = parseChangeRequest({ operation: 'delete', target: { ...VALID_SEGMENT, [segment]: value } });
        expect(result.ok).toBe(false);
        if (result.ok) continue;
        expect(expectRefusal(result.error)).toContainEqual({
          code: 'UnsafePathSegment',
          target: `target.${segment}`,
          message: expect.any(String),
        });
      }
    });

    it.each(explicit)('refuses %j in a target given as an ARM id', (token) => {
      for (const value of variants(token)) {
        const t = { ...VALID_SEGMENT, [segment]: value };
        const id = `/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroupName}/providers/Microsoft.ApiManagement/service/${t.serviceName}/workspaces/${t.workspaceId}/backends/${t.backendId}`;
        const result = parseChangeRequest({ operation: 'delete', target: id });
        if (id.endsWith('/') && result.ok) {
          // A trailing slash ends an ARM id harmlessly (ARM accepts it too): it names the same, unchanged backend.
          expect(result.request.target).toEqual(VALID_SEGMENT);
          continue;
        }
        expect(result.ok).toBe(false);
        if (result.ok) continue;
        expect(expectRefusal(result.error).map((d) => d.target)).toContain('target');
      }
    });
  });

  it.each(explicit)('refuses %j in a pool member id, naming the member', (token) => {
    const result = parseChangeRequest({
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/backends/pool1`,
      body: {
        properties: {
          type: 'Pool',
          pool: { services: [{ id: `${SERVICE_ID}/backends/ok` }, { id: `${SERVICE_ID}/backends/m${token}1` }] },
        },
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(expectRefusal(result.error).map((d) => d.target)).toEqual(['body.properties.pool.services[1].id']);
  });
});
