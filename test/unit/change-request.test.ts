import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import {
  parseChangeRequest,
  ChangeRequestSchema,
  type ChangeRequest,
} from '../../shared/domain/contract/change-request';
import { toValidationError } from '../../shared/domain/contract/validation-error';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const TARGET = {
  subscriptionId: SUB,
  resourceGroupName: 'rg1',
  serviceName: 'apimService1',
  backendId: 'proxybackend',
};
const PUT_BODY = { properties: { url: 'https://backend.example/', protocol: 'http' } };

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

const withTarget = (target: unknown, operation = 'delete') => ({ operation, target });

describe('official examples', () => {
  const dir = join(__dirname, '..', 'fixtures', 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  interface Parameters {
    subscriptionId: string;
    resourceGroupName: string;
    serviceName: string;
    workspaceId?: string;
    backendId?: string;
    'If-Match'?: string;
    parameters?: unknown;
  }
  interface Example {
    parameters: Parameters;
    responses: Record<string, { body?: { id?: string; value?: { id: string }[] } }>;
  }
  const read = (file: string): Example => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Example;
  const targetOf = (params: Parameters) => ({
    subscriptionId: params.subscriptionId,
    resourceGroupName: params.resourceGroupName,
    serviceName: params.serviceName,
    ...(params.workspaceId === undefined ? {} : { workspaceId: params.workspaceId }),
    backendId: params.backendId,
  });

  test('all 18 are present', () => {
    expect(files).toHaveLength(18);
  });

  test.each(files.filter((f) => /Create|Update|Reconnect/.test(f)))('%s: the request body passes', (file) => {
    const { parameters } = read(file);
    const operation = file.includes('Create') ? 'createOrUpdate' : file.includes('Update') ? 'update' : 'reconnect';
    const ifMatch = parameters['If-Match'];
    const request = parsed({
      operation,
      target: targetOf(parameters),
      body: parameters.parameters,
      ...(ifMatch === undefined ? {} : { ifMatch }),
    });
    expect(request.operation).toBe(operation);
    expect(request.body).toEqual(parameters.parameters);
    expect(request.target).toEqual(targetOf(parameters));
  });

  test.each(files.filter((f) => /Delete|Get|Head/.test(f)))('%s: a request for its target passes', (file) => {
    const { parameters } = read(file);
    const ifMatch = parameters['If-Match'];
    const request = parsed({
      operation: 'delete',
      target: targetOf(parameters),
      ...(ifMatch === undefined ? {} : { ifMatch }),
    });
    expect(request.target).toEqual(targetOf(parameters));
  });

  test.each(files.filter((f) => /Get|List/.test(f)))(
    '%s: every backend id in the response works as a target',
    (file) => {
      const body = read(file).responses['200']?.body ?? {};
      const ids = (body.value ?? [body]).map((b) => b.id ?? '');
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(parsed(withTarget(id)).target.backendId).toBe(id.split('/').pop());
    },
  );

  test.each(files.filter((f) => /List/.test(f)))('%s: a collection (no backendId) is not a target', (file) => {
    const { parameters } = read(file);
    expect(problems(withTarget(targetOf(parameters)))).toEqual(['target.backendId Required']);
  });
});

describe('request fields', () => {
  const base = { operation: 'createOrUpdate', target: TARGET, body: PUT_BODY };

  test.each<[string, unknown, string[]]>([
    ['requestId', { ...base, requestId: 'deploy-4711-orders' }, []],
    ['requestId of 128 with . _ :', { ...base, requestId: `a.b_c:d-${'x'.repeat(120)}` }, []],
    ['requestId of 129', { ...base, requestId: 'x'.repeat(129) }, ['requestId InvalidFormat']],
    ['requestId with a space', { ...base, requestId: 'a b' }, ['requestId InvalidFormat']],
    ['empty requestId', { ...base, requestId: '' }, ['requestId InvalidFormat']],
    ['ifMatch *', { ...base, ifMatch: '*' }, []],
    ['ifMatch ETag', { ...base, ifMatch: '"AAAAAAAAAAa="' }, []],
    ['ifMatch with CRLF', { ...base, ifMatch: '"a"\r\nX-Evil: 1' }, ['ifMatch InvalidFormat']],
    ['empty ifMatch', { ...base, ifMatch: '' }, ['ifMatch InvalidFormat']],
    ['dryRun true', { ...base, dryRun: true }, []],
    ['dryRun "true"', { ...base, dryRun: 'true' }, ['dryRun InvalidType']],
    ['unknown top-level property', { ...base, dryrun: true }, ['dryrun UnknownProperty']],
    ['no operation', { target: TARGET, body: PUT_BODY }, ['operation Required']],
    ['unknown operation', { ...base, operation: 'upsert' }, ['operation InvalidValue']],
    ['no target', { operation: 'delete' }, ['target Required']],
    ['target of the wrong type', { operation: 'delete', target: 42 }, ['target InvalidType']],
    ['createOrUpdate without body', { operation: 'createOrUpdate', target: TARGET }, ['body Required']],
    ['update without body', { operation: 'update', target: TARGET }, ['body Required']],
    ['update with body', { operation: 'update', target: TARGET, body: { properties: { title: 't' } } }, []],
    ['reconnect without body', { operation: 'reconnect', target: TARGET }, []],
    ['reconnect with body', { operation: 'reconnect', target: TARGET, body: { properties: { after: 'PT3S' } } }, []],
    [
      'reconnect with a PUT body',
      { operation: 'reconnect', target: TARGET, body: PUT_BODY },
      ['body.properties.url UnknownProperty', 'body.properties.protocol UnknownProperty'],
    ],
    [
      'reconnect of a workspace backend',
      { operation: 'reconnect', target: { ...TARGET, workspaceId: 'wks1' } },
      ['operation NotSupported'],
    ],
    ['delete', { operation: 'delete', target: TARGET, ifMatch: '*' }, []],
    ['delete with body', { operation: 'delete', target: TARGET, body: {} }, ['body NotAllowed']],
    ['not an object', 'createOrUpdate', [' InvalidType']],
    ['null', null, [' InvalidType']],
  ])('%s', (_name, input, expected) => {
    expect(problems(input).sort()).toEqual([...expected].sort());
  });

  test('the parsed request keeps requestId and ifMatch, and dryRun defaults to false', () => {
    expect(parsed({ ...base, requestId: 'r1', ifMatch: '*' })).toEqual({
      requestId: 'r1',
      operation: 'createOrUpdate',
      target: TARGET,
      ifMatch: '*',
      body: PUT_BODY,
      dryRun: false,
      apiVersion: '2024-05-01',
    });
    expect(parsed({ ...base, dryRun: true }).dryRun).toBe(true);
    expect('requestId' in parsed(base)).toBe(false);
  });
});

describe('target segments', () => {
  test.each<[string, Record<string, unknown>, string[]]>([
    ['workspace target', { workspaceId: 'wks1' }, []],
    ['subscriptionId not a GUID', { subscriptionId: 'sub-1' }, ['target.subscriptionId InvalidFormat']],
    ['subscriptionId upper case', { subscriptionId: 'ABCDEF01-2345-6789-ABCD-EF0123456789' }, []],
    ['resourceGroupName of 90 with - _ . ( )', { resourceGroupName: `rg-_.()${'x'.repeat(83)}` }, []],
    ['resourceGroupName of 91', { resourceGroupName: 'r'.repeat(91) }, ['target.resourceGroupName TooLong']],
    ['resourceGroupName ending in .', { resourceGroupName: 'rg.' }, ['target.resourceGroupName InvalidFormat']],
    ['resourceGroupName with $', { resourceGroupName: 'rg$' }, ['target.resourceGroupName InvalidFormat']],
    ['empty resourceGroupName', { resourceGroupName: '' }, ['target.resourceGroupName TooShort']],
    ['serviceName of 50', { serviceName: `a${'b'.repeat(48)}1` }, []],
    ['serviceName of 51', { serviceName: 'a'.repeat(51) }, ['target.serviceName TooLong']],
    ['serviceName starting with a digit', { serviceName: '1svc' }, ['target.serviceName InvalidFormat']],
    ['serviceName ending with -', { serviceName: 'svc-' }, ['target.serviceName InvalidFormat']],
    ['serviceName with _', { serviceName: 'my_svc' }, ['target.serviceName InvalidFormat']],
    ['workspaceId of 80', { workspaceId: 'w'.repeat(80) }, []],
    ['workspaceId of 81', { workspaceId: 'w'.repeat(81) }, ['target.workspaceId TooLong']],
    ['workspaceId with *', { workspaceId: 'w*' }, ['target.workspaceId InvalidFormat']],
    ['workspaceId with :', { workspaceId: 'w:1' }, ['target.workspaceId InvalidFormat']],
    ['workspaceId null', { workspaceId: null }, ['target.workspaceId InvalidType']],
    ['backendId of 80 with . _ ~ ( ) @', { backendId: `WebApp_my.app~(1)@${'b'.repeat(62)}` }, []],
    ['backendId of 81', { backendId: 'b'.repeat(81) }, ['target.backendId TooLong']],
    ['backendId ending in .', { backendId: 'b.' }, ['target.backendId InvalidFormat']],
    ['backendId .', { backendId: '.' }, ['target.backendId InvalidFormat']],
    ['backendId with a space', { backendId: 'my backend' }, ['target.backendId UnsafePathSegment']],
    ['backendId number', { backendId: 7 }, ['target.backendId InvalidType']],
    ['unknown key in target', { backendID: 'x' }, ['target.backendID UnknownProperty']],
  ])('%s', (_name, change, expected) => {
    expect(problems(withTarget({ ...TARGET, ...change })).sort()).toEqual([...expected].sort());
  });

  test('a missing segment is Required', () => {
    const { backendId: _b, serviceName: _s, ...rest } = TARGET;
    expect(problems(withTarget(rest)).sort()).toEqual(['target.backendId Required', 'target.serviceName Required']);
  });
});

describe('path injection is refused in every segment', () => {
  const attacks: [string, string][] = [
    ['..', '..'],
    ['a/../b', 'a/../b'],
    ['/', 'a/b'],
    ['\\', 'a\\b'],
    ['%2F', 'a%2Fb'],
    ['%2E%2E', '%2E%2E'],
    ['?', 'a?api-version=1'],
    ['#', 'a#b'],
    ['U+2215 division slash', 'a\u2215b'],
    ['U+2044 fraction slash', 'a\u2044b'],
    ['U+FF0F fullwidth solidus', 'a\uff0fb'],
    ['U+FF0E fullwidth full stop', '\uff0e\uff0e'],
    ['U+2024 one dot leader', '\u2024\u2024'],
    ['NUL', 'a\u0000b'],
    ['LF', 'a\nb'],
    ['TAB', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['U+0085 next line', 'a\u0085b'],
    ['leading space', ' a'],
    ['trailing space', 'a '],
    ['non-breaking space', 'a\u00a0b'],
  ];
  const segments = ['resourceGroupName', 'workspaceId', 'backendId'] as const;

  test.each(segments.flatMap((segment) => attacks.map(([name, value]) => [segment, name, value] as const)))(
    '%s: %s',
    (segment, _name, value) => {
      expect(problems(withTarget({ ...TARGET, [segment]: value }))).toEqual([`target.${segment} UnsafePathSegment`]);
    },
  );

  test.each(attacks)('serviceName: %s', (_name, value) => {
    const [detail] = problems(withTarget({ ...TARGET, serviceName: value }));
    expect(['target.serviceName UnsafePathSegment', 'target.serviceName InvalidFormat']).toContain(detail);
  });
});

describe('target as an ARM id string', () => {
  const id = `${SERVICE_ID}/backends/proxybackend`;

  test('a service backend id becomes the target object', () => {
    expect(parsed(withTarget(id)).target).toEqual(TARGET);
  });

  test('a workspace backend id becomes the target object', () => {
    expect(parsed(withTarget(`${SERVICE_ID}/workspaces/wks1/backends/proxybackend`)).target).toEqual({
      ...TARGET,
      workspaceId: 'wks1',
    });
  });

  test('keywords compare case-insensitively, as in ARM', () => {
    const lower = id
      .replace('resourceGroups', 'resourcegroups')
      .replace('Microsoft.ApiManagement', 'microsoft.apimanagement');
    expect(parsed(withTarget(lower)).target).toEqual(TARGET);
  });

  test.each<[string, string, string]>([
    ['a service id', SERVICE_ID, 'InvalidResourceId'],
    ['a workspace id', `${SERVICE_ID}/workspaces/wks1`, 'InvalidResourceId'],
    ['another resource type', `${SERVICE_ID}/apis/echo`, 'InvalidResourceId'],
    ['not an id', 'proxybackend', 'InvalidResourceId'],
    ['an empty string', '', 'InvalidResourceId'],
    ['a backend id followed by more path', `${id}/reconnect`, 'InvalidResourceId'],
    ['..', `${SERVICE_ID}/backends/..`, 'UnsafePathSegment'],
    ['.. in the resource group', id.replace('/rg1/', '/../'), 'UnsafePathSegment'],
    ['%2F', `${SERVICE_ID}/backends/a%2Fb`, 'UnsafePathSegment'],
    ['?', `${id}?api-version=2024-05-01`, 'UnsafePathSegment'],
    ['#', `${id}#x`, 'UnsafePathSegment'],
    ['U+2215', `${SERVICE_ID}/backends/a\u2215b`, 'UnsafePathSegment'],
    ['a control character', `${SERVICE_ID}/backends/a\u0001b`, 'UnsafePathSegment'],
    ['padding whitespace', ` ${id}`, 'UnsafePathSegment'],
    ['a bad serviceName', id.replace('apimService1', '1service'), 'InvalidFormat'],
    ['a bad subscription', id.replace(SUB, 'sub'), 'InvalidFormat'],
  ])('%s is refused at target', (_name, value, code) => {
    expect(problems(withTarget(value))).toEqual([`target ${code}`]);
  });

  test('the message names the segment but not its value', () => {
    const result = parseChangeRequest(withTarget(`${SERVICE_ID}/backends/evil%2Fvalue`));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.details?.[0]?.message).toContain('backendId');
    expect(JSON.stringify(result.error)).not.toContain('evil');
  });
});

describe('error reporting', () => {
  test('reports every problem at once, each with its path', () => {
    const result = parseChangeRequest({
      operation: 'createOrUpdate',
      target: { ...TARGET, serviceName: '1bad', backendId: 'a/b' },
      extra: 1,
      body: {
        properties: {
          type: 'Pool',
          url: 'https://x/',
          protocol: 'ftp',
          title: '',
          tls: { validateCertificateChain: 'no' },
          pool: { services: [{ id: `${SERVICE_ID}/backends/b1`, weight: 101 }, { id: `${SERVICE_ID}/backends/B1` }] },
          circuitBreaker: { rules: [{}, {}] },
          urll: 'x',
        },
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const details = (result.error.details ?? []).map((d) => `${d.target} ${d.code}`).sort();
    expect(details).toEqual(
      [
        'extra UnknownProperty',
        'target.serviceName InvalidFormat',
        'target.backendId UnsafePathSegment',
        'body.properties.url NotSupportedForPool',
        'body.properties.protocol InvalidValue',
        'body.properties.protocol NotSupportedForPool',
        'body.properties.title TooShort',
        'body.properties.tls.validateCertificateChain InvalidType',
        'body.properties.pool.services[0].weight OutOfRange',
        'body.properties.pool.services[1].id Duplicate',
        'body.properties.circuitBreaker.rules TooManyItems',
        'body.properties.urll UnknownProperty',
      ].sort(),
    );
    expect(result.error.code).toBe('ValidationError');
    expect(result.error.message).toMatch(/^The change request is invalid: 12 problems\. First: /);
  });

  test('each unknown key is its own detail with its full path', () => {
    expect(
      problems({ operation: 'update', target: TARGET, body: { properties: { urll: 'x', protocoll: 'http' } } }).sort(),
    ).toEqual(['body.properties.protocoll UnknownProperty', 'body.properties.urll UnknownProperty']);
  });

  test('keys that are not identifiers are quoted in paths', () => {
    expect(
      problems({
        operation: 'update',
        target: TARGET,
        body: { properties: { credentials: { header: { 'x-my-1': ['ok', 2] } } } },
      }),
    ).toEqual(['body.properties.credentials.header["x-my-1"][1] InvalidType']);
  });

  test('toValidationError without the input still gives codes and paths', () => {
    const result = ChangeRequestSchema.safeParse({ operation: 'delete', target: TARGET, dryRun: 1 });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(toValidationError(result.error.issues)).toEqual({
      code: 'ValidationError',
      message: 'The change request is invalid: 1 problem. First: dryRun: Must be a boolean.',
      details: [{ code: 'InvalidType', target: 'dryRun', message: 'Must be a boolean.' }],
    });
  });

  test('the subject of the summary can be named', () => {
    const result = z.strictObject({ a: z.string() }).safeParse({ a: 1 });
    if (result.success) throw new Error('expected failure');
    expect(toValidationError(result.error.issues, { input: { a: 1 }, subject: 'setting' }).message).toBe(
      'The setting is invalid: 1 problem. First: a: Must be a string, not a number.',
    );
  });
});

describe('secrets never appear in errors', () => {
  const SECRET = 'Zq9-unique-S3CRET-value';
  const single = (extra: Record<string, unknown>) => ({
    operation: 'createOrUpdate',
    target: TARGET,
    body: { properties: { url: 'https://x/', protocol: 'http', ...extra } },
  });

  test.each<[string, unknown]>([
    ['proxy password next to a wrong proxy url', single({ proxy: { url: 5, password: SECRET } })],
    ['proxy password of the wrong type', single({ proxy: { url: 'http://p', password: [SECRET] } })],
    [
      'authorization parameter too long',
      single({ credentials: { authorization: { scheme: 'Basic', parameter: SECRET.repeat(20) } } }),
    ],
    ['authorization parameter without scheme', single({ credentials: { authorization: { parameter: SECRET } } })],
    ['header value next to a wrong one', single({ credentials: { header: { 'x-key': [SECRET, 1] } } })],
    ['query value not in a list', single({ credentials: { query: { code: SECRET } } })],
    ['secret in an enum field', single({ protocol: SECRET })],
    ['secret in a type field', single({ type: SECRET })],
    ['secret under a mistyped key', single({ proxy: { url: 'http://p', pasword: SECRET } })],
    ['secret as the operation', { operation: SECRET, target: TARGET }],
    ['secret in a boolean field', single({ tls: { validateCertificateChain: SECRET } })],
    ['secret in an integer field', single({ circuitBreaker: { rules: [{ failureCondition: { count: SECRET } }] } })],
    ['secret in a duration field', single({ circuitBreaker: { rules: [{ tripDuration: SECRET }] } })],
    ['secret as a backendId', withTarget({ ...TARGET, backendId: `${SECRET}/x` })],
    ['secret in an ARM id', withTarget(`${SERVICE_ID}/backends/${SECRET}%2F`)],
    ['secret as requestId', { operation: 'delete', target: TARGET, requestId: `${SECRET} !` }],
    ['secret as ifMatch', { operation: 'delete', target: TARGET, ifMatch: `${SECRET}\n` }],
  ])('%s', (_name, input) => {
    const result = parseChangeRequest(input);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain('Zq9');
  });
});
