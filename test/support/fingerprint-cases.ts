/**
 * Requests whose fingerprints are pinned (test/unit/fingerprint-pinned.test.ts): fingerprints are stored in ledgers,
 * so a rewrite of how they are computed must give byte-identical values. Varied on purpose: nested objects and
 * arrays, unicode and characters JSON escapes, integer-like keys, `__proto__`, undefined, -0 and non-finite numbers,
 * secrets in every secret-bearing place (and non-string or empty values there), target as an object or an id string.
 */
const TARGET = { subscriptionId: 's1', resourceGroupName: 'rg1', serviceName: 'apim1', backendId: 'orders' };
const TARGET_ID =
  '/subscriptions/S1/resourceGroups/RG1/providers/Microsoft.ApiManagement/service/APIM1/backends/Orders';

function full(index: number): Record<string, unknown> {
  return {
    requestId: `r-${index}`,
    operation: 'createOrUpdate',
    dryRun: false,
    target: TARGET,
    body: {
      properties: {
        description: `Bestellungen — 注文 😀 "quoted" back\\slash \u2028 tab\t nul\u0000 #${index}`,
        url: 'https://orders.example.com/api',
        protocol: 'http',
        tls: { validateCertificateChain: true, validateCertificateName: false },
        proxy: { url: 'http://192.168.1.1:8080', username: 'Contoso\\admin', password: `pr0xy-p4ss-${index}` },
        credentials: {
          query: { sv: ['xx', 'bb', 'cc'], sig: ['s1g-välüe'] },
          header: { 'x-my-1': ['val1', 'val2'], 'x-empty': [''] },
          authorization: { scheme: 'Basic', parameter: `opensesame-${index}` },
          certificate: ['cert-a', 'cert-b'],
        },
        circuitBreaker: {
          rules: [
            {
              name: 'r1',
              failureCondition: { count: 5, interval: 'PT1M', statusCodeRanges: [{ min: 500, max: 599 }] },
              tripDuration: 'PT5M',
              acceptRetryAfter: true,
            },
          ],
        },
        pool: { services: [{ id: '/x/backends/a', weight: 1.5, priority: -0 }, { id: '/x/backends/b' }] },
      },
    },
  };
}

/** Built in code rather than JSON: some values (undefined, -0, NaN, a lone surrogate) JSON cannot carry. */
export function pinnedCases(): Array<{ name: string; request: unknown }> {
  const proto: Record<string, unknown> = { b: 1, a: 2 };
  Object.defineProperty(proto, '__proto__', { value: { x: 1 }, enumerable: true, writable: true });
  return [
    { name: 'full request, target object', request: full(1) },
    { name: 'full request, target id string', request: { ...full(1), target: TARGET_ID } },
    { name: 'full request, another secret', request: full(2) },
    {
      name: 'workspace target, string target not a backend',
      request: {
        operation: 'update',
        target: { ...TARGET, workspaceId: 'ws1' },
        body: { properties: { url: 'https://x', proxy: { password: 'p' } } },
        extra: { target: ' /Not/An/Id ' },
      },
    },
    { name: 'unparseable target string', request: { operation: 'delete', target: ' /Not/An/ID ' } },
    { name: 'no secrets', request: { operation: 'delete', target: TARGET, requestId: 'd1' } },
    {
      name: 'odd keys and values',
      request: {
        operation: 'x',
        body: {
          '10': 'ten',
          '2': 'two',
          '01': 'zero-one',
          '4294967295': 'max',
          '4294967294': 'index',
          Zeta: 1,
          alpha: [undefined, null, () => 1, Number.NaN, Infinity, -0, 1e21, 1e-7, 0.1, 123456789012345680000],
          missing: undefined,
          fn: () => 2,
          nested: { proto, empty: {}, emptyArray: [], deep: [[[{ z: 1, y: [2, { x: 3 }] }]]] },
          lone: 'a\ud800b\udc00c',
          ctrl: '\u0001\u001f\u007f\u0080\u00ff',
          ключ: 'значение',
          é: 'e-acute',
        },
      },
    },
    {
      name: 'secrets of other types and in nested places',
      request: {
        operation: 'createOrUpdate',
        target: TARGET,
        body: {
          properties: {
            credentials: {
              header: { n: [42, true, null, ''], o: { deep: ['nested-secret'] } },
              query: { a: 'not-an-array-secret' },
              authorization: { parameter: 7 },
            },
            proxy: { password: { inner: 'pw-in-object' } },
          },
          other: { credentials: { header: { k: ['elsewhere-secret-value'] } } },
        },
      },
    },
    { name: 'an array', request: [1, 'two', { credentials: { query: { q: ['sec'] } } }] },
    { name: 'a string', request: 'plain' },
    { name: 'null', request: null },
    { name: 'undefined', request: undefined },
    { name: 'a change set', request: { changeSet: [full(3), full(4)], atomic: true } },
    { name: 'an invalid request', request: { invalid: { target: 5, body: 'x' } } },
  ];
}
