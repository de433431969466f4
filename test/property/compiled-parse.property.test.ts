/**
 * The compiled fast path (compiled-parse.ts) answers exactly as the zod runtime schemas do: for valid requests (the
 * official examples, GET answers sent back, the bench's body, pools, workspaces, every operation) and for the same
 * requests with fields replaced, removed, added, re-cased, nulled or stringified, the compiled parse and the
 * runtime `safeParse` agree on acceptance, on the output (values and key order) and on every issue.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import * as z from 'zod';
import { SUPPORTED_API_VERSIONS } from '../../shared/domain/contract/api-versions';
import {
  BackendBodySchema,
  BackendPatchBodySchema,
  ReconnectBodySchema,
  parseBackendBody,
  parseBackendPatchBody,
  parseReconnectBody,
} from '../../shared/domain/contract/backend-body';
import { changeRequestParser, changeRequestSchema } from '../../shared/domain/contract/change-request';
import { BackendArmIdTargetSchema, BackendTargetObjectSchema } from '../../shared/domain/contract/safe-segment';
import { parseArmIdTarget, parseTargetObject } from '../../shared/domain/contract/safe-segment';
import { benchBody } from '../../bench/workload';
import { exampleAnswers, exampleOperation, exampleTarget, loadAllExamples } from '../support/examples';
import { mutate, pathsOf, type Mutation } from '../support/json-mutation';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const TARGET = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'b1' };

const examples = loadAllExamples();

/** The official examples' requests, and every backend of their answers sent back as a createOrUpdate. */
const exampleRequests: Record<string, unknown>[] = examples.flatMap((e) => {
  const p = e.parameters;
  const own = exampleOperation(e.file);
  const request =
    own === undefined
      ? []
      : [{ operation: own, target: exampleTarget(e), apiVersion: p['api-version'], body: p['parameters'] }];
  const answers = exampleAnswers(e).map(({ backend }) => ({
    operation: 'createOrUpdate',
    target: (backend as { id: string }).id,
    apiVersion: p['api-version'],
    body: backend,
  }));
  return [...request, ...answers];
});

const BASES: readonly Record<string, unknown>[] = [
  ...exampleRequests,
  { requestId: 'bench-1', operation: 'createOrUpdate', target: TARGET, body: benchBody(1, 'x') },
  {
    requestId: 'r-1',
    operation: 'createOrUpdate',
    target: TARGET,
    ifMatch: '*',
    dryRun: false,
    apiVersion: '2025-03-01-PREVIEW',
    body: {
      properties: {
        url: 'https://b1.example/api',
        protocol: 'HTTP',
        title: null,
        azureRegion: 'westeurope',
        credentials: { header: { 'x-key': ['h'] }, query: { code: ['q'] }, managedIdentity: { resource: 'r' } },
        tls: { serverCertificateThumbprints: ['ab'], serverX509Names: [{ name: 'n' }] },
        circuitBreaker: {
          rules: [
            {
              name: 'r',
              failureCondition: {
                count: '3',
                percentage: 50,
                interval: 'PT1H',
                statusCodeRanges: [{ min: 500, max: '599' }],
                errorReasons: ['timeout'],
              },
              tripDuration: 'PT1H',
              acceptRetryAfter: true,
              failureResponse: { statusCode: 503 },
            },
          ],
        },
      },
    },
  },
  {
    operation: 'createOrUpdate',
    target: `${SERVICE_ID}/backends/pool1`,
    apiVersion: '2025-09-01-preview',
    body: {
      properties: {
        type: 'pool',
        pool: {
          services: [
            { id: '/backends/m1', weight: 1, priority: 1, preferredCarbonEmission: 'low' },
            { id: `${SERVICE_ID}/backends/m2`, weight: '2', priority: '1' },
          ],
          sessionAffinity: { sessionId: { source: 'Cookie', name: 'c' } },
          failureResponse: { statusCode: 429 },
        },
      },
    },
  },
  {
    operation: 'update',
    target: `${SERVICE_ID}/workspaces/wks1/backends/b1`,
    ifMatch: '"AAAAAAAAAAa="',
    body: { properties: { description: 'd', type: 'Single', credentials: { header: { 'x-a': ['1', '2'] } } } },
  },
  { operation: 'reconnect', target: `${SERVICE_ID}/backends/b1`, body: { properties: { after: 'PT3S' } } },
  { operation: 'reconnect', target: TARGET, body: {} },
  { requestId: 'del:1', operation: 'delete', target: { ...TARGET, workspaceId: 'wks1' }, dryRun: true },
];

/** Values that are valid somewhere, invalid elsewhere, or on an edge of a rule. */
const edgeValue = fc.oneof(
  fc.constantFrom(
    null,
    '',
    ' ',
    '1',
    '-1',
    '007',
    '1.5',
    0,
    -1,
    1.5,
    100,
    101,
    599,
    600,
    true,
    'Pool',
    'pool',
    'SINGLE',
    'soap',
    'cookie',
    'VeryHigh',
    'PT0S',
    'P',
    'PT',
    'https://x/',
    'http://[::1]:8080',
    'https://',
    'ws://h',
    'fabric:/a/b',
    'http://a b',
    '/backends/b2',
    '/backends/b1',
    `${SERVICE_ID}/backends/b1`,
    `${SERVICE_ID}/workspaces/w/backends/m`,
    [],
    [''],
    ['a'],
    {},
    { a: ['x'] },
    { '': ['x'] },
    'x'.repeat(301),
    '__proto__',
  ),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 12 }),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), value: edgeValue }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({
    kind: fc.constant('add' as const),
    key: fc.oneof(
      fc.constantFrom('url', 'protocol', 'type', 'pool', 'id', 'name', 'weight', 'after', 'title', 'constructor'),
      fc.string({ maxLength: 6 }),
    ),
    value: edgeValue,
  }),
  fc.record({ kind: fc.constant('case' as const) }),
);

/** Several mutations applied one after another, each at a path of what the previous ones left. */
const mutatedArb = fc
  .record({
    base: fc.constantFrom(...BASES),
    edits: fc.array(fc.tuple(fc.nat(), mutationArb), { minLength: 0, maxLength: 3 }),
  })
  .map(({ base, edits }) =>
    edits.reduce<unknown>((value, [pick, mutation]) => {
      const paths = pathsOf(value);
      return paths.length === 0 ? value : mutate(value, paths[pick % paths.length]!, mutation);
    }, base),
  );

/** Both answers, compared field for field: acceptance, the output with its key order, every issue. */
function expectSame(fast: z.ZodSafeParseResult<unknown>, runtime: z.ZodSafeParseResult<unknown>): void {
  expect(fast.success).toBe(runtime.success);
  if (fast.success && runtime.success) {
    // Node's deep equality, not Jest's toStrictEqual: Jest compares `a.constructor === b.constructor`, which a header
    // named "constructor" (an own property holding an array) makes false for two equal outputs.
    expect(isDeepStrictEqual(fast.data, runtime.data)).toBe(true);
    expect(JSON.stringify(fast.data)).toBe(JSON.stringify(runtime.data));
  } else if (!fast.success && !runtime.success) {
    expect(isDeepStrictEqual(fast.error.issues, runtime.error.issues)).toBe(true);
    expect(JSON.stringify(fast.error.issues)).toBe(JSON.stringify(runtime.error.issues));
  }
}

const RUNS = { numRuns: 1500 };

describe('compiled fast path vs the zod runtime', () => {
  it('gives the same answer for a header named "constructor" (found by this property test)', () => {
    const input = {
      operation: 'createOrUpdate',
      target: exampleTarget(loadAllExamples()[0]!),
      body: { properties: { url: 'https://b/', protocol: 'http', credentials: { header: { constructor: [] } } } },
    };
    const fast = changeRequestParser(undefined);
    for (let i = 0; i < 150; i++) fast(input); // past the point where the fast path is compiled
    expectSame(fast(input), changeRequestSchema().safeParse(input));
  });

  it('every fast path is compiled (a zod upgrade that refuses one would silently lose the speed)', () => {
    expect(parseBackendBody.compiled()).toBe(true);
    expect(parseBackendPatchBody.compiled()).toBe(true);
    expect(parseReconnectBody.compiled()).toBe(true);
    expect(parseTargetObject.compiled()).toBe(true);
    expect(parseArmIdTarget.compiled()).toBe(true);
    for (const version of SUPPORTED_API_VERSIONS) expect(changeRequestParser(version).compiled()).toBe(true);
  });

  it('the bases are valid at their version, and parsed by the compiled code', () => {
    expect(exampleRequests.length).toBeGreaterThanOrEqual(30);
    for (const base of BASES) {
      const input: unknown = JSON.parse(JSON.stringify(base));
      expect(changeRequestParser(undefined)(input)).toMatchObject({ success: true });
      expect(changeRequestParser(undefined).compiledAccepts(JSON.parse(JSON.stringify(base)))).toBe(true);
    }
  });

  it.each(SUPPORTED_API_VERSIONS)('change requests, default api-version %s: same answer', (version) => {
    const runtime = changeRequestSchema(version);
    const fast = changeRequestParser(version);
    fc.assert(
      fc.property(mutatedArb, (input) => expectSame(fast(input), runtime.safeParse(input))),
      RUNS,
    );
  });

  it('bodies (createOrUpdate, update, reconnect): same answer', () => {
    const bodyOf = (input: unknown): unknown => (input as { body?: unknown }).body;
    fc.assert(
      fc.property(mutatedArb, (input) => {
        const body = typeof input === 'object' && input !== null ? bodyOf(input) : input;
        expectSame(parseBackendBody(body), BackendBodySchema.safeParse(body));
        expectSame(parseBackendPatchBody(body), BackendPatchBodySchema.safeParse(body));
        expectSame(parseReconnectBody(body), ReconnectBodySchema.safeParse(body));
      }),
      RUNS,
    );
  });

  it.each([
    '{"__proto__":{"x":1},"operation":"delete","target":"TARGET"}',
    '{"operation":"createOrUpdate","target":"TARGET","body":{"__proto__":null,"properties":{"url":"https://x/","protocol":"http"}}}',
    '{"operation":"createOrUpdate","target":"TARGET","body":{"properties":{"__proto__":{"url":"https://x/"},"url":"https://x/","protocol":"http"}}}',
    '{"operation":"createOrUpdate","target":"TARGET","body":{"properties":{"url":"https://x/","protocol":"http","credentials":{"header":{"__proto__":["v"],"x-a":["1"]}}}}}',
    '{"operation":"update","target":"TARGET","body":{"properties":{"credentials":{"query":{"__proto__":["v"]}}}}}',
  ])('JSON with a "__proto__" key %s: same answer', (json) => {
    const input: unknown = JSON.parse(json.replace('"TARGET"', JSON.stringify(`${SERVICE_ID}/backends/b1`)));
    const fast = changeRequestParser(undefined);
    expect(fast.compiled()).toBe(true);
    expectSame(fast(input), changeRequestSchema().safeParse(input));
    const body = (input as { body?: unknown }).body;
    expect(parseBackendBody.compiled() && parseBackendPatchBody.compiled()).toBe(true);
    expectSame(parseBackendBody(body), BackendBodySchema.safeParse(body));
    expectSame(parseBackendPatchBody(body), BackendPatchBodySchema.safeParse(body));
  });

  it('targets (object and ARM id): same answer', () => {
    const segment = fc.oneof(
      fc.constantFrom('rg1', 'apimService1', 'b1', SUB, 'a.', 'a..b', 'a/b', '%2F', ' a', 'x'.repeat(91), ''),
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    const objectArb = fc.record(
      {
        subscriptionId: fc.oneof(fc.constant(SUB), segment),
        resourceGroupName: segment,
        serviceName: segment,
        workspaceId: segment,
        backendId: segment,
        extra: segment,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(objectArb, (target) => {
        expectSame(parseTargetObject(target), BackendTargetObjectSchema.safeParse(target));
        const ws = target.workspaceId === undefined ? '' : `/workspaces/${target.workspaceId}`;
        const id = `/subscriptions/${target.subscriptionId ?? SUB}/resourceGroups/${target.resourceGroupName ?? ''}/providers/Microsoft.ApiManagement/service/${target.serviceName ?? ''}${ws}/backends/${target.backendId ?? ''}`;
        expectSame(parseArmIdTarget(id), BackendArmIdTargetSchema.safeParse(id));
      }),
      RUNS,
    );
  });
});
