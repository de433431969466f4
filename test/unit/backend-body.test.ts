import { isoDuration, ReconnectBodySchema, type BackendBody } from '../../shared/domain/contract/backend-body';
import { parseChangeRequest, type ChangeRequest } from '../../shared/domain/contract/change-request';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const TARGET = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'pool1' };
const member = (backendId: string, extra: Record<string, unknown> = {}) => ({
  id: `${SERVICE_ID}/backends/${backendId}`,
  ...extra,
});
const SINGLE = { url: 'https://backend.example/', protocol: 'http' };
const POOL = { type: 'Pool', pool: { services: [member('b1'), member('b2')] } };

type Op = 'createOrUpdate' | 'update';

function request(properties: unknown, operation: Op = 'createOrUpdate', target: unknown = TARGET) {
  return { operation, target, body: { properties } };
}

/** `target code` of every detail, or [] when the request is valid. */
function problems(input: unknown): string[] {
  const result = parseChangeRequest(input);
  return result.ok ? [] : (result.error.details ?? []).map((d) => `${d.target ?? ''} ${d.code}`);
}

function parsed(input: unknown): ChangeRequest {
  const result = parseChangeRequest(input);
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.error)}`);
  return result.request;
}

const p = (rest: string) => `body.properties.${rest}`;
const longUrl = (length: number) => {
  const prefix = 'https://backend.example/';
  return `${prefix}${'u'.repeat(length - prefix.length)}`;
};
const many = (n: number, make: (i: number) => unknown = (i) => `item${i}`) =>
  Array.from({ length: n }, (_, i) => make(i));
const cbRule = (rule: unknown) => ({ ...SINGLE, circuitBreaker: { rules: [rule] } });
const failure = (condition: unknown) => cbRule({ failureCondition: condition });

// [name, properties, operation, expected `target code` list ([] = valid)]
const cases: [string, unknown, Op, string[]][] = [
  // Scalar properties and their lengths
  ['title of 300', { ...SINGLE, title: 't'.repeat(300) }, 'createOrUpdate', []],
  ['empty title', { ...SINGLE, title: '' }, 'createOrUpdate', [`${p('title')} TooShort`]],
  ['title of 301', { ...SINGLE, title: 't'.repeat(301) }, 'createOrUpdate', [`${p('title')} TooLong`]],
  ['description of 2000', { ...SINGLE, description: 'd'.repeat(2000) }, 'createOrUpdate', []],
  [
    'description of 2001',
    { ...SINGLE, description: 'd'.repeat(2001) },
    'createOrUpdate',
    [`${p('description')} TooLong`],
  ],
  ['empty description', { ...SINGLE, description: '' }, 'createOrUpdate', [`${p('description')} TooShort`]],
  ['resourceId of 2000', { ...SINGLE, resourceId: longUrl(2000) }, 'createOrUpdate', []],
  ['resourceId of 2001', { ...SINGLE, resourceId: longUrl(2001) }, 'createOrUpdate', [`${p('resourceId')} TooLong`]],
  ['url of 2000', { ...SINGLE, url: longUrl(2000) }, 'createOrUpdate', []],
  ['url of 2001', { ...SINGLE, url: longUrl(2001) }, 'createOrUpdate', [`${p('url')} TooLong`]],
  ['empty url', { ...SINGLE, url: '' }, 'createOrUpdate', [`${p('url')} TooShort`]],
  ['protocol soap', { ...SINGLE, protocol: 'soap' }, 'createOrUpdate', []],
  ['protocol HTTP (modelAsString: any case)', { ...SINGLE, protocol: 'HTTP' }, 'createOrUpdate', []],
  ['protocol ftp', { ...SINGLE, protocol: 'ftp' }, 'createOrUpdate', [`${p('protocol')} InvalidValue`]],
  ['type Single', { ...SINGLE, type: 'Single' }, 'createOrUpdate', []],
  ['type single (modelAsString: any case)', { ...SINGLE, type: 'single' }, 'createOrUpdate', []],
  ['type Multi', { ...SINGLE, type: 'Multi' }, 'createOrUpdate', [`${p('type')} InvalidValue`]],
  ['null url on a single: one problem', { ...SINGLE, url: null }, 'createOrUpdate', [`${p('url')} Required`]],
  ['null title means absent', { ...SINGLE, title: null }, 'createOrUpdate', []],
  // tls
  [
    'tls booleans',
    { ...SINGLE, tls: { validateCertificateChain: false, validateCertificateName: true } },
    'createOrUpdate',
    [],
  ],
  [
    'tls string',
    { ...SINGLE, tls: { validateCertificateChain: 'false' } },
    'createOrUpdate',
    [`${p('tls.validateCertificateChain')} InvalidType`],
  ],
  [
    'tls unknown key',
    { ...SINGLE, tls: { validateCertificate: true } },
    'createOrUpdate',
    [`${p('tls.validateCertificate')} UnknownProperty`],
  ],
  // proxy
  ['proxy', { ...SINGLE, proxy: { url: 'http://10.0.0.1:8080', username: 'u', password: 'p' } }, 'createOrUpdate', []],
  ['proxy without url', { ...SINGLE, proxy: { username: 'u' } }, 'createOrUpdate', [`${p('proxy.url')} Required`]],
  [
    'proxy url of 2001',
    { ...SINGLE, proxy: { url: 'u'.repeat(2001) } },
    'createOrUpdate',
    [`${p('proxy.url')} TooLong`],
  ],
  [
    'proxy username number',
    { ...SINGLE, proxy: { url: 'http://x', username: 1 } },
    'createOrUpdate',
    [`${p('proxy.username')} InvalidType`],
  ],
  // credentials
  ['32 certificateIds', { ...SINGLE, credentials: { certificateIds: many(32) } }, 'createOrUpdate', []],
  [
    '33 certificateIds',
    { ...SINGLE, credentials: { certificateIds: many(33) } },
    'createOrUpdate',
    [`${p('credentials.certificateIds')} TooManyItems`],
  ],
  ['32 certificates', { ...SINGLE, credentials: { certificate: many(32) } }, 'createOrUpdate', []],
  [
    '33 certificates',
    { ...SINGLE, credentials: { certificate: many(33) } },
    'createOrUpdate',
    [`${p('credentials.certificate')} TooManyItems`],
  ],
  ['query lists', { ...SINGLE, credentials: { query: { sv: ['a', 'b'] } } }, 'createOrUpdate', []],
  [
    'query value not a list',
    { ...SINGLE, credentials: { query: { sv: 'a' } } },
    'createOrUpdate',
    [`${p('credentials.query.sv')} InvalidType`],
  ],
  ['header lists', { ...SINGLE, credentials: { header: { 'x-my-1': ['v1'] } } }, 'createOrUpdate', []],
  [
    'header item not a string',
    { ...SINGLE, credentials: { header: { 'x-my-1': [1] } } },
    'createOrUpdate',
    [`${p('credentials.header["x-my-1"][0]')} InvalidType`],
  ],
  [
    'header name with a space',
    { ...SINGLE, credentials: { header: { 'x my': ['v'] } } },
    'createOrUpdate',
    [`${p('credentials.header["x my"]')} InvalidName`],
  ],
  [
    'authorization',
    { ...SINGLE, credentials: { authorization: { scheme: 'Basic', parameter: 'x'.repeat(300) } } },
    'createOrUpdate',
    [],
  ],
  [
    'authorization without parameter',
    { ...SINGLE, credentials: { authorization: { scheme: 'Basic' } } },
    'createOrUpdate',
    [`${p('credentials.authorization.parameter')} Required`],
  ],
  [
    'authorization without scheme',
    { ...SINGLE, credentials: { authorization: { parameter: 'x' } } },
    'createOrUpdate',
    [`${p('credentials.authorization.scheme')} Required`],
  ],
  [
    'scheme of 101',
    { ...SINGLE, credentials: { authorization: { scheme: 's'.repeat(101), parameter: 'x' } } },
    'createOrUpdate',
    [`${p('credentials.authorization.scheme')} TooLong`],
  ],
  [
    'parameter of 301',
    { ...SINGLE, credentials: { authorization: { scheme: 'Basic', parameter: 'x'.repeat(301) } } },
    'createOrUpdate',
    [`${p('credentials.authorization.parameter')} TooLong`],
  ],
  [
    'credentials unknown key',
    { ...SINGLE, credentials: { identity: {} } },
    'createOrUpdate',
    [`${p('credentials.identity')} UnknownProperty`],
  ],
  // circuit breaker
  [
    'one full circuit-breaker rule',
    cbRule({
      name: 'myBreakerRule',
      failureCondition: {
        count: 3,
        interval: 'PT1H',
        statusCodeRanges: [{ min: 500, max: 599 }],
        errorReasons: ['server errors'],
      },
      tripDuration: 'PT1H',
      acceptRetryAfter: true,
    }),
    'createOrUpdate',
    [],
  ],
  [
    'two circuit-breaker rules',
    { ...SINGLE, circuitBreaker: { rules: [{ name: 'a' }, { name: 'b' }] } },
    'createOrUpdate',
    [`${p('circuitBreaker.rules')} TooManyItems`],
  ],
  [
    'circuit-breaker unknown key',
    { ...SINGLE, circuitBreaker: { rule: [] } },
    'createOrUpdate',
    [`${p('circuitBreaker.rule')} UnknownProperty`],
  ],
  ['count 0', failure({ count: 0 }), 'createOrUpdate', []],
  [
    'count -1',
    failure({ count: -1 }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.count')} OutOfRange`],
  ],
  [
    'count 1.5',
    failure({ count: 1.5 }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.count')} InvalidType`],
  ],
  ['percentage 100', failure({ percentage: 100 }), 'createOrUpdate', []],
  [
    'percentage 101',
    failure({ percentage: 101 }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.percentage')} OutOfRange`],
  ],
  [
    'percentage boolean',
    failure({ percentage: true }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.percentage')} InvalidType`],
  ],
  [
    'interval not a duration',
    failure({ interval: '1 hour' }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.interval')} InvalidFormat`],
  ],
  ['10 status ranges', failure({ statusCodeRanges: many(10, () => ({ min: 500, max: 599 })) }), 'createOrUpdate', []],
  [
    '11 status ranges',
    failure({ statusCodeRanges: many(11, () => ({ min: 500, max: 599 })) }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.statusCodeRanges')} TooManyItems`],
  ],
  [
    'status min 199',
    failure({ statusCodeRanges: [{ min: 199, max: 599 }] }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.statusCodeRanges[0].min')} OutOfRange`],
  ],
  [
    'status max 600',
    failure({ statusCodeRanges: [{ min: 200, max: 600 }] }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.statusCodeRanges[0].max')} OutOfRange`],
  ],
  ['status min = max', failure({ statusCodeRanges: [{ min: 503, max: 503 }] }), 'createOrUpdate', []],
  [
    'status min > max',
    failure({ statusCodeRanges: [{ min: 504, max: 503 }] }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.statusCodeRanges[0]')} OutOfRange`],
  ],
  ['10 error reasons of 200', failure({ errorReasons: many(10, () => 'r'.repeat(200)) }), 'createOrUpdate', []],
  [
    '11 error reasons',
    failure({ errorReasons: many(11) }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.errorReasons')} TooManyItems`],
  ],
  [
    'error reason of 201',
    failure({ errorReasons: ['r'.repeat(201)] }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].failureCondition.errorReasons[0]')} TooLong`],
  ],
  ['tripDuration with fraction', cbRule({ tripDuration: 'PT1.5S' }), 'createOrUpdate', []],
  [
    'tripDuration not a duration',
    cbRule({ tripDuration: 'PT' }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].tripDuration')} InvalidFormat`],
  ],
  [
    'acceptRetryAfter string',
    cbRule({ acceptRetryAfter: 'yes' }),
    'createOrUpdate',
    [`${p('circuitBreaker.rules[0].acceptRetryAfter')} InvalidType`],
  ],
  // pool
  ['pool of 30', { type: 'Pool', pool: { services: many(30, (i) => member(`b${i}`)) } }, 'createOrUpdate', []],
  [
    'pool of 31',
    { type: 'Pool', pool: { services: many(31, (i) => member(`b${i}`)) } },
    'createOrUpdate',
    [`${p('pool.services')} TooManyItems`],
  ],
  ['empty pool', { type: 'Pool', pool: { services: [] } }, 'createOrUpdate', [`${p('pool.services')} TooFewItems`]],
  ['pool without services', { type: 'Pool', pool: {} }, 'createOrUpdate', [`${p('pool.services')} Required`]],
  [
    'member weight 0 and 100',
    { type: 'Pool', pool: { services: [member('b1', { weight: 0 }), member('b2', { weight: 100 })] } },
    'createOrUpdate',
    [],
  ],
  [
    'member weight 101',
    { type: 'Pool', pool: { services: [member('b1', { weight: 101 })] } },
    'createOrUpdate',
    [`${p('pool.services[0].weight')} OutOfRange`],
  ],
  [
    'member priority -1',
    { type: 'Pool', pool: { services: [member('b1', { priority: -1 })] } },
    'createOrUpdate',
    [`${p('pool.services[0].priority')} OutOfRange`],
  ],
  [
    'member priority "-1"',
    { type: 'Pool', pool: { services: [member('b1', { priority: '-1' })] } },
    'createOrUpdate',
    [`${p('pool.services[0].priority')} InvalidType`],
  ],
  [
    'member without id',
    { type: 'Pool', pool: { services: [{ weight: 1 }] } },
    'createOrUpdate',
    [`${p('pool.services[0].id')} Required`],
  ],
  [
    'member unknown key',
    { type: 'Pool', pool: { services: [member('b1', { wieght: 1 })] } },
    'createOrUpdate',
    [`${p('pool.services[0].wieght')} UnknownProperty`],
  ],
  [
    'member id of a service',
    { type: 'Pool', pool: { services: [{ id: SERVICE_ID }] } },
    'createOrUpdate',
    [`${p('pool.services[0].id')} InvalidResourceId`],
  ],
  [
    'member id with ..',
    { type: 'Pool', pool: { services: [{ id: `${SERVICE_ID}/backends/..` }] } },
    'createOrUpdate',
    [`${p('pool.services[0].id')} UnsafePathSegment`],
  ],
  [
    'duplicate member (case differs)',
    { type: 'Pool', pool: { services: [member('b1'), { id: `${SERVICE_ID}/backends/B1`.toUpperCase() }] } },
    'createOrUpdate',
    [`${p('pool.services[1].id')} Duplicate`],
  ],
  [
    'member in another service',
    { type: 'Pool', pool: { services: [member('b1'), { id: `${SERVICE_ID}2/backends/b2` }] } },
    'createOrUpdate',
    [`${p('pool.services[1].id')} OutOfScope`],
  ],
  [
    'member in a workspace of the service',
    { type: 'Pool', pool: { services: [{ id: `${SERVICE_ID}/workspaces/w1/backends/b2` }] } },
    'createOrUpdate',
    [`${p('pool.services[0].id')} OutOfScope`],
  ],
  [
    'member is the pool itself',
    { type: 'Pool', pool: { services: [member('b1'), member('POOL1')] } },
    'createOrUpdate',
    [`${p('pool.services[1].id')} SelfReference`],
  ],
  // single vs pool, PUT
  [
    'pool with url and protocol',
    { ...POOL, ...SINGLE },
    'createOrUpdate',
    [`${p('url')} NotSupportedForPool`, `${p('protocol')} NotSupportedForPool`],
  ],
  ['pool type without pool', { type: 'Pool' }, 'createOrUpdate', [`${p('pool')} Required`]],
  [
    'single without url and protocol',
    { description: 'd' },
    'createOrUpdate',
    [`${p('url')} Required`, `${p('protocol')} Required`],
  ],
  ['single without protocol', { url: 'https://x/' }, 'createOrUpdate', [`${p('protocol')} Required`]],
  [
    'explicit Single with pool',
    { ...SINGLE, type: 'Single', pool: POOL.pool },
    'createOrUpdate',
    [`${p('pool')} NotAllowed`],
  ],
  ['no type with pool', { ...SINGLE, pool: POOL.pool }, 'createOrUpdate', [`${p('pool')} NotAllowed`]],
  // single vs pool, PATCH (partial)
  ['PATCH description only', { description: 'd' }, 'update', []],
  ['PATCH empty properties', {}, 'update', []],
  ['PATCH pool with url', { type: 'Pool', url: 'https://x/' }, 'update', [`${p('url')} NotSupportedForPool`]],
  ['PATCH pool with protocol', { type: 'Pool', protocol: 'http' }, 'update', [`${p('protocol')} NotSupportedForPool`]],
  ['PATCH type Pool without pool', { type: 'Pool' }, 'update', []],
  ['PATCH pool members without type', { pool: POOL.pool }, 'update', []],
  ['PATCH Single with pool', { type: 'Single', pool: POOL.pool }, 'update', [`${p('pool')} NotAllowed`]],
  [
    'PATCH duplicate members',
    { pool: { services: [member('b1'), member('b1')] } },
    'update',
    [`${p('pool.services[1].id')} Duplicate`],
  ],
  [
    'PATCH member in another service',
    { pool: { services: [{ id: `${SERVICE_ID}2/backends/b2` }] } },
    'update',
    [`${p('pool.services[0].id')} OutOfScope`],
  ],
  ['PATCH unknown key', { urll: 'https://x/' }, 'update', [`${p('urll')} UnknownProperty`]],
  // properties.properties (Service Fabric)
  [
    'service fabric cluster',
    {
      ...SINGLE,
      properties: {
        serviceFabricCluster: {
          managementEndpoints: ['https://somecluster.com'],
          clientCertificateId: 'c',
          clientCertificatethumbprint: 't',
          maxPartitionResolutionRetries: 5,
          serverCertificateThumbprints: ['a'],
          serverX509Names: [{ name: 'n', issuerCertificateThumbprint: 'i' }],
        },
      },
    },
    'createOrUpdate',
    [],
  ],
  [
    'service fabric without endpoints',
    { ...SINGLE, properties: { serviceFabricCluster: { clientCertificateId: 'c' } } },
    'createOrUpdate',
    [`${p('properties.serviceFabricCluster.managementEndpoints')} Required`],
  ],
  [
    'service fabric with no endpoints',
    { ...SINGLE, properties: { serviceFabricCluster: { managementEndpoints: [] } } },
    'createOrUpdate',
    [`${p('properties.serviceFabricCluster.managementEndpoints')} TooFewItems`],
  ],
  [
    'service fabric retries 1.5',
    {
      ...SINGLE,
      properties: { serviceFabricCluster: { managementEndpoints: ['e'], maxPartitionResolutionRetries: 1.5 } },
    },
    'createOrUpdate',
    [`${p('properties.serviceFabricCluster.maxPartitionResolutionRetries')} InvalidType`],
  ],
  [
    'service fabric x509 unknown key',
    {
      ...SINGLE,
      properties: { serviceFabricCluster: { managementEndpoints: ['e'], serverX509Names: [{ nam: 'n' }] } },
    },
    'createOrUpdate',
    [`${p('properties.serviceFabricCluster.serverX509Names[0].nam')} UnknownProperty`],
  ],
  [
    'properties.properties unknown key',
    { ...SINGLE, properties: { serviceFabric: {} } },
    'createOrUpdate',
    [`${p('properties.serviceFabric')} UnknownProperty`],
  ],
  // unknown and response-only properties
  ['unknown property (typo)', { ...SINGLE, urll: 'https://x/' }, 'createOrUpdate', [`${p('urll')} UnknownProperty`]],
  [
    'response-only provisioningState',
    { ...SINGLE, provisioningState: 'Succeeded' },
    'createOrUpdate',
    [`${p('provisioningState')} UnknownProperty`],
  ],
];

describe('backend body rules (createOrUpdate and update)', () => {
  test.each(cases)('%s', (_name, properties, operation, expected) => {
    expect(problems(request(properties, operation)).sort()).toEqual([...expected].sort());
  });

  test("the body holds properties (and a GET answer's id, name, type); other top-level keys are refused", () => {
    expect(
      problems({
        operation: 'createOrUpdate',
        target: TARGET,
        body: { id: 'x', name: 'n', etag: 'e', properties: SINGLE },
      }).sort(),
    ).toEqual(['body.etag UnknownProperty', 'body.id TargetMismatch', 'body.name TargetMismatch']);
    expect(problems({ operation: 'createOrUpdate', target: TARGET, body: {} })).toEqual(['body.properties Required']);
    expect(problems({ operation: 'update', target: TARGET, body: [] })).toEqual(['body InvalidType']);
  });
});

describe('integer fields', () => {
  test('accept strings of digits, as ARM templates write them, and normalise them to numbers', () => {
    const request = parsed({
      operation: 'createOrUpdate',
      target: TARGET,
      body: {
        properties: {
          type: 'Pool',
          pool: { services: [member('b1', { priority: '1', weight: '75' }), member('b2', { priority: 2 })] },
          circuitBreaker: {
            rules: [
              { failureCondition: { count: '3', percentage: '50', statusCodeRanges: [{ min: '500', max: '599' }] } },
            ],
          },
        },
      },
    });
    const body = request.body as BackendBody;
    expect(body.properties.pool?.services).toEqual([
      member('b1', { priority: 1, weight: 75 }),
      member('b2', { priority: 2 }),
    ]);
    expect(body.properties.circuitBreaker?.rules?.[0]?.failureCondition).toEqual({
      count: 3,
      percentage: 50,
      statusCodeRanges: [{ min: 500, max: 599 }],
    });
  });

  test.each([['1.5'], [' 1'], ['1e2'], [''], ['0x10']])('refuse the string %j', (value) => {
    expect(problems(request({ type: 'Pool', pool: { services: [member('b1', { weight: value })] } }))).toEqual([
      `${p('pool.services[0].weight')} InvalidType`,
    ]);
  });

  test('a string of digits is range-checked like a number', () => {
    expect(problems(request({ type: 'Pool', pool: { services: [member('b1', { weight: '101' })] } }))).toEqual([
      `${p('pool.services[0].weight')} OutOfRange`,
    ]);
  });
});

describe('isoDuration', () => {
  test.each(['PT3S', 'PT2M', 'P1D', 'P1DT2H', 'PT1.5S', 'P1W', 'P1Y2M3W4DT5H6M7.25S', 'PT0S'])(
    'accepts %s',
    (value) => {
      expect(isoDuration.safeParse(value).success).toBe(true);
    },
  );

  test.each(['', 'P', 'PT', 'P1DT', 'PT1.5M', 'pt3s', '3S', 'P-1D', 'PT3S ', 'P1S', 'PT1H1D', '1 minute'])(
    'refuses %j',
    (value) => {
      expect(isoDuration.safeParse(value).success).toBe(false);
    },
  );
});

describe('reconnect body', () => {
  const reconnect = (body?: unknown) =>
    body === undefined ? { operation: 'reconnect', target: TARGET } : { operation: 'reconnect', target: TARGET, body };

  test.each([
    [undefined],
    [{}],
    [{ properties: {} }],
    [{ properties: { after: 'PT3S' } }],
    [{ properties: { after: 'PT5M' } }],
  ])('accepts %j (a wait below PT2M is passed to ARM to decide)', (body) => {
    expect(problems(reconnect(body))).toEqual([]);
  });

  test('refuses an after that is not a duration, and unknown keys', () => {
    expect(problems(reconnect({ properties: { after: 'soon' } }))).toEqual(['body.properties.after InvalidFormat']);
    expect(problems(reconnect({ properties: { delay: 'PT3S' } }))).toEqual(['body.properties.delay UnknownProperty']);
    expect(problems(reconnect({ after: 'PT3S' }))).toEqual(['body.after UnknownProperty']);
  });

  test('the schema alone parses the documented body', () => {
    expect(ReconnectBodySchema.parse({ properties: { after: 'PT3S' } })).toEqual({ properties: { after: 'PT3S' } });
  });
});
