/**
 * Issue 9's rules, each both ways and at every supported api-version: relative pool member ids, managed identity,
 * api-version gates, enum case, GET answers sent back, absolute URLs, and one message per problem.
 */
import {
  SUPPORTED_API_VERSIONS,
  VERSION_GATES,
  isAtLeast,
  type ApiVersion,
} from '../../shared/domain/contract/api-versions';
import { parseChangeRequest, type ChangeRequest } from '../../shared/domain/contract/change-request';
import type { BackendBody } from '../../shared/domain/contract/backend-body';
import type { ErrorDetail } from '../../shared/domain/contract/error-response';
import { redactSecrets } from '../../shared/domain/redact';
import { checkScope } from '../../shared/domain/scope-policy';
import { planChanges } from '../../shared/domain/plan';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const TARGET = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'pool1' };
const WS_TARGET = { ...TARGET, workspaceId: 'wks1' };
const SINGLE = { url: 'https://backend.example/', protocol: 'http' };

type Op = 'createOrUpdate' | 'update';

function req(properties: unknown, apiVersion: string, operation: Op = 'createOrUpdate', target: unknown = TARGET) {
  return { operation, target, apiVersion, body: { properties } };
}

function details(input: unknown): ErrorDetail[] {
  const result = parseChangeRequest(input);
  return result.ok ? [] : (result.error.details ?? []);
}

const problems = (input: unknown): string[] => details(input).map((d) => `${d.target ?? ''} ${d.code}`);

function parsed(input: unknown, defaultApiVersion?: string): ChangeRequest {
  const result = parseChangeRequest(input, { defaultApiVersion });
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.error)}`);
  return result.request;
}

const pool = (...ids: string[]) => ({ type: 'Pool', pool: { services: ids.map((id) => ({ id })) } });
const p = (rest: string) => `body.properties.${rest}`;

describe.each(SUPPORTED_API_VERSIONS.map((v) => [v]))('at api-version %s', (version: ApiVersion) => {
  describe('1. relative pool member ids', () => {
    test('/backends/x is accepted beside the full id, and sent as written', () => {
      const request = parsed(req(pool('/backends/b1', `${SERVICE_ID}/backends/b2`), version));
      expect((request.body as BackendBody).properties.pool?.services.map((s) => s.id)).toEqual([
        '/backends/b1',
        `${SERVICE_ID}/backends/b2`,
      ]);
    });

    test('in a workspace pool, /backends/x is relative to the workspace', () => {
      expect(problems(req(pool('/backends/b1'), version, 'createOrUpdate', WS_TARGET))).toEqual([]);
      expect(problems(req(pool(`${SERVICE_ID}/workspaces/wks1/backends/b2`), version, 'update', WS_TARGET))).toEqual(
        [],
      );
      // The same name at service scope is another backend: outside the workspace.
      expect(problems(req(pool(`${SERVICE_ID}/backends/b1`), version, 'createOrUpdate', WS_TARGET))).toEqual([
        `${p('pool.services[0].id')} OutOfScope`,
      ]);
    });

    test('member rules apply to the resolved id: repeats across forms, the pool itself', () => {
      expect(problems(req(pool('/backends/b1', `${SERVICE_ID}/backends/B1`), version))).toEqual([
        `${p('pool.services[1].id')} Duplicate`,
      ]);
      expect(problems(req(pool('/backends/b1', '/Backends/POOL1'), version, 'update'))).toEqual([
        `${p('pool.services[1].id')} SelfReference`,
      ]);
    });

    test('a trailing / is refused in either form, and the message names the accepted forms', () => {
      const found = details(req(pool('/backends/b1/', `${SERVICE_ID}/backends/b2/`), version));
      expect(found.map((d) => `${d.target} ${d.code}`)).toEqual([
        `${p('pool.services[0].id')} InvalidResourceId`,
        `${p('pool.services[1].id')} InvalidResourceId`,
      ]);
      for (const d of found) {
        expect(d.message).toContain('/backends/{backendId}');
        expect(d.message).toContain('/subscriptions/{subscriptionId}');
      }
    });

    test.each([['backends/b1'], ['/backends/'], ['/backends/a/b'], ['/backends/..'], ['b1'], ['/apis/b1']])(
      'refuses %j',
      (id) => {
        expect(problems(req(pool(id), version))).toHaveLength(1);
      },
    );

    test('ALLOWED_SCOPES is judged on the resolved id', () => {
      const request = parsed(req(pool('/backends/b1'), version));
      expect(checkScope(request, [SERVICE_ID])).toBeUndefined();
      expect(checkScope(request, [`${SERVICE_ID}/backends/pool1`])?.details?.map((d) => d.target)).toEqual([
        'body.properties.pool.services[0].id',
      ]);
    });

    test('a GET answering the other form of a member id is no change; another backend is', () => {
      const request = parsed(req(pool('/backends/b1'), version));
      const current = {
        id: `${SERVICE_ID}/backends/pool1`,
        properties: pool(`${SERVICE_ID.toUpperCase()}/backends/B1`),
      };
      expect(planChanges('createOrUpdate', current, request.body, TARGET)).toEqual([]);
      const other = { properties: pool(`${SERVICE_ID}/backends/b2`) };
      expect(planChanges('createOrUpdate', other, request.body, TARGET).map((c) => c.path)).toEqual([
        'properties.pool.services[0].id',
      ]);
    });
  });

  describe('2. credentials.managedIdentity', () => {
    const mi = (managedIdentity: unknown) => req({ ...SINGLE, credentials: { managedIdentity } }, version);
    test.each([
      [{ resource: 'https://cognitiveservices.azure.com' }, []],
      [{ resource: 'r'.repeat(300), clientId: 'c'.repeat(300) }, []],
      [{ clientId: 'c' }, [`${p('credentials.managedIdentity.resource')} Required`]],
      [{ resource: '' }, [`${p('credentials.managedIdentity.resource')} TooShort`]],
      [{ resource: 'r'.repeat(301) }, [`${p('credentials.managedIdentity.resource')} TooLong`]],
      [{ resource: 'r', clientId: 'c'.repeat(301) }, [`${p('credentials.managedIdentity.clientId')} TooLong`]],
      [{ resource: 'r', clientId: '' }, [`${p('credentials.managedIdentity.clientId')} TooShort`]],
      [{ resource: 'r', objectId: 'o' }, [`${p('credentials.managedIdentity.objectId')} UnknownProperty`]],
    ])('%j', (identity, expected) => {
      expect(problems(mi(identity))).toEqual(expected);
    });

    test('is not a secret: shown in outcomes and plans', () => {
      const body = parsed(mi({ resource: 'https://cognitiveservices.azure.com', clientId: 'cid' })).body;
      expect(redactSecrets(body)).toEqual(body);
    });
  });

  describe('3. api-version gates', () => {
    const samples: Record<string, unknown> = {
      'pool.failureResponse': {
        ...pool('/backends/b1'),
        pool: { ...pool('/backends/b1').pool, failureResponse: { statusCode: 503 } },
      },
      'pool.sessionAffinity': {
        ...pool('/backends/b1'),
        pool: { ...pool('/backends/b1').pool, sessionAffinity: { sessionId: { source: 'cookie', name: 'sid' } } },
      },
      'circuitBreaker.rules[].failureResponse': {
        ...SINGLE,
        circuitBreaker: { rules: [{ name: 'r', failureResponse: { statusCode: 503 } }] },
      },
      azureRegion: { ...SINGLE, azureRegion: 'northeurope' },
      'pool.services[].preferredCarbonEmission': {
        type: 'Pool',
        pool: { services: [{ id: '/backends/b1', preferredCarbonEmission: 'Low' }] },
      },
      'tls.serverCertificateThumbprints': { ...SINGLE, tls: { serverCertificateThumbprints: ['abc'] } },
      'tls.serverX509Names': { ...SINGLE, tls: { serverX509Names: [{ name: '*.example.com' }] } },
    };

    test.each(VERSION_GATES.map((g) => [g.path, g.since] as const))('%s from %s', (path, since) => {
      for (const operation of ['createOrUpdate', 'update'] as const) {
        const found = details(req(samples[path], version, operation));
        if (isAtLeast(version, since)) {
          expect(found).toEqual([]);
        } else {
          expect(found).toHaveLength(1);
          expect(found[0]?.code).toBe('NeedsNewerApiVersion');
          const concrete = path.replace('[]', '[0]');
          expect(found[0]?.target).toBe(p(concrete));
          expect(found[0]?.message).toContain(`${concrete} needs api-version ${since} or later; set apiVersion`);
        }
      }
    });

    test('the request is parsed and sent with its api-version, any case, default from the setting', () => {
      expect(parsed(req(SINGLE, version.toUpperCase())).apiVersion).toBe(version);
      const { apiVersion: _omit, ...noVersion } = req(SINGLE, version);
      expect(parsed(noVersion, version).apiVersion).toBe(version);
      expect(parsed(noVersion).apiVersion).toBe('2024-05-01');
    });

    test('limits of our own at every version: one circuit-breaker rule, error reasons of 200', () => {
      const rules = (n: number, reason = 'r') =>
        req(
          {
            ...SINGLE,
            circuitBreaker: {
              rules: Array.from({ length: n }, () => ({ failureCondition: { errorReasons: [reason] } })),
            },
          },
          version,
        );
      expect(problems(rules(1, 'r'.repeat(200)))).toEqual([]);
      expect(problems(rules(2))).toEqual([`${p('circuitBreaker.rules')} TooManyItems`]);
      expect(problems(rules(1, 'r'.repeat(201)))).toEqual([
        `${p('circuitBreaker.rules[0].failureCondition.errorReasons[0]')} TooLong`,
      ]);
    });
  });

  describe('4. modelAsString enums in any case, sent canonical', () => {
    test('type, protocol, session source, carbon emission', () => {
      const single = parsed(req({ url: 'https://x/', protocol: 'HTTP', type: 'single' }, version)).body as BackendBody;
      expect(single.properties).toMatchObject({ protocol: 'http', type: 'Single' });
      const latest = '2026-09-01-preview';
      const poolBody = parsed(
        req(
          {
            type: 'pool',
            pool: {
              services: [{ id: '/backends/b1', preferredCarbonEmission: 'verylow' }],
              sessionAffinity: { sessionId: { source: 'Cookie' } },
            },
          },
          latest,
        ),
      ).body as BackendBody;
      expect(poolBody.properties.type).toBe('Pool');
      expect(poolBody.properties.pool?.services[0]?.preferredCarbonEmission).toBe('VeryLow');
      expect(poolBody.properties.pool?.sessionAffinity?.sessionId?.source).toBe('cookie');
    });

    test('values outside the enum are still refused', () => {
      expect(problems(req({ ...SINGLE, type: 'pools' }, version))).toEqual([`${p('type')} InvalidValue`]);
      expect(problems(req({ ...SINGLE, protocol: 'https' }, version))).toEqual([`${p('protocol')} InvalidValue`]);
    });
  });

  describe('5. a GET answer sent back', () => {
    const answer = {
      id: `${SERVICE_ID}/backends/pool1`,
      type: 'Microsoft.ApiManagement/service/backends',
      name: 'pool1',
      properties: { title: null, url: null, protocol: null, ...pool(`${SERVICE_ID}/backends/b1`), description: null },
    };
    const put = (body: unknown, target: unknown = TARGET) => ({
      operation: 'createOrUpdate',
      target,
      apiVersion: version,
      body,
    });

    test('is accepted for its own backend; id, name, type are not sent and nulls are absent', () => {
      const request = parsed(put(answer));
      expect(request.body).toEqual({ properties: pool(`${SERVICE_ID}/backends/b1`) });
    });

    test('id, name and type that name another backend are refused with their path', () => {
      expect(problems(put(answer, { ...TARGET, backendId: 'pool2' })).sort()).toEqual([
        'body.id TargetMismatch',
        'body.name TargetMismatch',
      ]);
      expect(problems(put(answer, WS_TARGET)).sort()).toEqual([
        'body.id TargetMismatch',
        `${p('pool.services[0].id')} OutOfScope`,
        'body.type TargetMismatch',
      ]);
      expect(problems(put({ ...answer, type: 'Microsoft.ApiManagement/service/apis' }))).toEqual([
        'body.type TargetMismatch',
      ]);
    });

    test('in an update, null is refused once, with the reason', () => {
      const found = details(req({ type: 'Pool', url: null }, version, 'update'));
      expect(found.map((d) => `${d.target} ${d.code}`)).toEqual([`${p('url')} NullNotAllowed`]);
      expect(found[0]?.message).toMatch(/PATCH/);
      expect(found[0]?.message).toMatch(/createOrUpdate/);
    });

    test('a null url on a pool (createOrUpdate) is no problem; on a single backend it is one', () => {
      expect(problems(req({ ...pool('/backends/b1'), url: null }, version))).toEqual([]);
      expect(problems(req({ url: null, protocol: 'http' }, version))).toEqual([`${p('url')} Required`]);
    });
  });

  describe('6. absolute URLs', () => {
    test.each([
      ['url', 'https://backend.example/api', true],
      ['url', 'http://10.0.0.1:8080', true],
      ['url', 'fabric:/mytestapp/mytestservice', true],
      ['url', 'wss://chat.example/socket', true],
      ['url', 'ftp://files.example/', false],
      ['url', 'localhost:8080', false],
      ['url', '[url]]/workflows/x/triggers', false],
      ['url', 'backend.example/api', false],
      ['url', 'https://', false],
      ['url', 'https://backend example/', false],
      ['url', 'fabric:', false],
      [
        'resourceId',
        'https://management.azure.com/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app',
        true,
      ],
      ['resourceId', '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/app', false],
      ['resourceId', 'fabric:/app/svc', false],
      ['proxy.url', 'http://192.168.1.1:8080', true],
      ['proxy.url', '192.168.1.1:8080', false],
    ])('%s %j', (field, value, ok) => {
      const properties = field === 'proxy.url' ? { ...SINGLE, proxy: { url: value } } : { ...SINGLE, [field]: value };
      expect(problems(req(properties, version))).toEqual(ok ? [] : [`${p(field)} InvalidFormat`]);
    });
  });
});

describe('7. api-version names', () => {
  test('an unknown api-version is refused with the supported list', () => {
    const found = details(req(SINGLE, '2023-09-01-preview'));
    expect(found.map((d) => `${d.target} ${d.code}`)).toEqual(['apiVersion UnsupportedApiVersion']);
    for (const v of SUPPORTED_API_VERSIONS) expect(found[0]?.message).toContain(v);
    expect(problems({ ...req(SINGLE, '2024-05-01'), apiVersion: 20240501 })).toEqual(['apiVersion InvalidType']);
  });

  test('reconnect and delete take an api-version too', () => {
    expect(parsed({ operation: 'reconnect', target: TARGET, apiVersion: '2025-03-01-preview' }).apiVersion).toBe(
      '2025-03-01-preview',
    );
    expect(problems({ operation: 'delete', target: TARGET, apiVersion: 'latest' })).toEqual([
      'apiVersion UnsupportedApiVersion',
    ]);
  });
});
