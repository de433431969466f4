import {
  createHttpHeaders,
  RestError,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { createArmBackendClient, type ArmClientOptions } from '../../shared/adapters/arm/arm-client';
import type { ArmResult } from '../../shared/app/arm-ports';
import { createArmCredential } from '../../shared/adapters/arm/credential';
import type { BackendTarget } from '../../shared/domain/backend-id';
import type { Clock } from '../../shared/app/clock-ports';

const ENDPOINT = 'https://arm.test';
const TOKEN = 'static-test-token';
const START = Date.parse('2025-03-01T12:00:00Z');
const target: BackendTarget = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroupName: 'rg1',
  serviceName: 'apim1',
  backendId: 'b1',
};
const BACKEND_URL =
  `${ENDPOINT}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1` +
  '/providers/Microsoft.ApiManagement/service/apim1/backends/b1?api-version=2024-05-01';

/** A clock whose sleeps return at once, record what was asked, and move time on. */
class FakeClock implements Clock {
  current = START;
  readonly sleeps: number[] = [];
  now(): number {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    this.sleeps.push(ms);
    this.current += ms;
    return Promise.resolve();
  }
}

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | Error | 'hang';

/** An HttpClient that records requests and answers from a script, one reply per request. */
class FakeHttpClient implements HttpClient {
  readonly sent: Sent[] = [];
  constructor(private readonly script: Reply[]) {}
  sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    this.sent.push({
      method: request.method,
      url: request.url,
      headers: request.headers.toJSON(),
      body: typeof request.body === 'string' ? request.body : undefined,
    });
    const reply = this.script.shift();
    if (reply === undefined) return Promise.reject(new Error(`unscripted ${request.method} ${request.url}`));
    if (reply === 'hang') {
      // Like a server that never answers: only the abort signal ends it.
      return new Promise((_resolve, reject) => {
        request.abortSignal?.addEventListener('abort', () => reject(new Error('aborted by signal')));
      });
    }
    if (reply instanceof Error) return Promise.reject(reply);
    return Promise.resolve({
      status: reply.status,
      headers: createHttpHeaders(reply.headers ?? {}),
      request,
      bodyAsText: reply.body === undefined ? '' : JSON.stringify(reply.body),
    });
  }
}

function networkError(code: string): RestError {
  return new RestError(`socket failure ${code}`, { code });
}

function armError(code: string, message = `${code} happened`): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function setup(script: Reply[], overrides: Partial<ArmClientOptions> = {}) {
  const clock = new FakeClock();
  const http = new FakeHttpClient(script);
  const warnings: Array<{ msg: string; props?: object }> = [];
  const client = createArmBackendClient({
    endpoint: `${ENDPOINT}/`,
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: ENDPOINT, accessToken: TOKEN }),
    clock,
    random: () => 0.5,
    httpClient: http,
    logger: { warn: (msg, props) => warnings.push(props === undefined ? { msg } : { msg, props }) },
    ...overrides,
  });
  return { client, clock, http, warnings };
}

const desired = { properties: { url: 'https://new.example', protocol: 'http' } };
const applied = {
  id: '/subscriptions/.../backends/b1',
  name: 'b1',
  properties: { url: 'https://new.example', protocol: 'http', title: null },
};
const old = { name: 'b1', properties: { url: 'https://old.example', protocol: 'http' } };

function expectKind<K extends ArmResult['kind']>(result: ArmResult, kind: K): Extract<ArmResult, { kind: K }> {
  expect(result.kind).toBe(kind);
  return result as Extract<ArmResult, { kind: K }>;
}

describe('requests', () => {
  it('sends the bearer token, api-version, JSON body and one correlation id reused across attempts', async () => {
    const { client, http } = setup([
      { status: 503 },
      { status: 201, headers: { etag: '"AAAA"', 'x-ms-request-id': 'req-2' }, body: applied },
    ]);
    const result = expectKind(await client.createOrUpdate(target, desired), 'ok');

    expect(http.sent).toHaveLength(2);
    const [first, second] = http.sent;
    expect(first!.method).toBe('PUT');
    expect(first!.url).toBe(BACKEND_URL);
    expect(first!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(first!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(first!.body!)).toEqual(desired);
    const correlation = first!.headers['x-ms-correlation-request-id'];
    expect(correlation).toMatch(/^[0-9a-f-]{36}$/);
    expect(second!.headers['x-ms-correlation-request-id']).toBe(correlation);
    expect(result).toMatchObject({ status: 201, body: applied, attempts: 2, reads: 0 });
    // The ETag is reported exactly as ARM wrote it, quotes included.
    expect(result.headers).toEqual({ etag: '"AAAA"', requestId: 'req-2', correlationRequestId: correlation });
  });

  it('asks the credential for the <endpoint>/.default scope', async () => {
    const scopes: Array<string | string[]> = [];
    const { client, http } = setup([{ status: 200, body: old }], {
      credential: {
        getToken: (s) => {
          scopes.push(s);
          return Promise.resolve({ token: 'from-credential', expiresOnTimestamp: Date.now() + 3_600_000 });
        },
      },
    });
    await client.get(target);
    expect(scopes).toEqual([['https://arm.test/.default']]);
    expect(http.sent[0]!.headers['authorization']).toBe('Bearer from-credential');
  });

  it('uses a fresh correlation id per call', async () => {
    const { client, http } = setup([
      { status: 200, body: old },
      { status: 200, body: old },
    ]);
    await client.get(target);
    await client.get(target);
    expect(http.sent[0]!.headers['x-ms-correlation-request-id']).not.toBe(
      http.sent[1]!.headers['x-ms-correlation-request-id'],
    );
  });

  it('builds workspace-scoped and reconnect URLs', async () => {
    const { client, http } = setup([{ status: 202 }]);
    const result = await client.reconnect({ ...target, workspaceId: 'wks 1' }, { properties: { after: 'PT3S' } });
    expect(result).toMatchObject({ kind: 'ok', status: 202, body: undefined, attempts: 1 });
    expect(http.sent[0]!.method).toBe('POST');
    expect(http.sent[0]!.url).toBe(
      BACKEND_URL.replace('/apim1/backends/b1?', '/apim1/workspaces/wks%201/backends/b1/reconnect?'),
    );
    expect(http.sent[0]!.body).toBe('{"properties":{"after":"PT3S"}}');
  });

  it('HEAD reports the ETag; a 404 without body becomes armError HttpStatus404', async () => {
    const { client, http } = setup([{ status: 200, headers: { etag: 'AAAAAAAAAAa=' } }, { status: 404 }]);
    const ok = expectKind(await client.getEntityTag(target), 'ok');
    expect(ok.headers.etag).toBe('AAAAAAAAAAa=');
    expect(http.sent[0]!.method).toBe('HEAD');
    const missing = expectKind(await client.getEntityTag(target), 'armError');
    expect(missing).toMatchObject({ status: 404, error: { code: 'HttpStatus404' }, attempts: 1, reads: 0 });
  });

  it('DELETE sends If-Match * by default and the given ETag otherwise', async () => {
    const { client, http } = setup([{ status: 200 }, { status: 204 }]);
    expect(await client.delete(target)).toMatchObject({ kind: 'ok', status: 200 });
    expect(await client.delete(target, { ifMatch: '"e1"' })).toMatchObject({ kind: 'ok', status: 204 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['DELETE', '*'],
      ['DELETE', '"e1"'],
    ]);
  });
});

describe('Retry-After', () => {
  it.each([
    ['Retry-After seconds', { 'retry-after': '7' }, 7000],
    ['retry-after-ms', { 'retry-after-ms': '1234' }, 1234],
    ['x-ms-retry-after-ms', { 'x-ms-retry-after-ms': '2500' }, 2500],
    ['Retry-After HTTP date', { 'retry-after': new Date(START + 12_000).toUTCString() }, 12_000],
  ])('honours %s exactly', async (_name, headers, expectedMs) => {
    const { client, clock } = setup([{ status: 429, headers, body: armError('TooManyRequests') }, { status: 200 }]);
    const result = await client.get(target);
    expect(result).toMatchObject({ kind: 'ok', attempts: 2 });
    expect(clock.sleeps).toEqual([expectedMs]);
  });

  it('is not capped by maxBackoffMs (never retries sooner than ARM asked)', async () => {
    const { client, clock } = setup([{ status: 503, headers: { 'retry-after': '45' } }, { status: 200 }], {
      maxBackoffMs: 1000,
    });
    await client.get(target);
    expect(clock.sleeps).toEqual([45_000]);
  });
});

describe('backoff and deadline', () => {
  it('without Retry-After, waits full-jitter exponential backoff within [0, cap]', async () => {
    const { client, clock } = setup(
      [{ status: 500 }, { status: 502 }, { status: 504 }, { status: 408 }, { status: 503 }, { status: 200 }],
      { random: () => 0.9999, maxBackoffMs: 3000 },
    );
    expect(await client.get(target)).toMatchObject({ kind: 'ok', attempts: 6 });
    // Near-top draws show the doubling ceilings 500, 1000, 2000, then the 3000 cap.
    expect(clock.sleeps).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it('with random 0 still stays within [0, cap]', async () => {
    const { client, clock } = setup([{ status: 503 }, { status: 200 }], { random: () => 0 });
    await client.get(target);
    expect(clock.sleeps).toEqual([0]);
  });

  it('stops when the next wait would pass the deadline, returning ARM advice and error body', async () => {
    const { client, clock } = setup([
      { status: 429, headers: { 'retry-after': '10' }, body: armError('TooManyRequests', 'slow down') },
      { status: 429, headers: { 'retry-after': '60', 'x-ms-request-id': 'r2' }, body: armError('TooManyRequests') },
    ]);
    const result = expectKind(await client.get(target, { deadline: START + 30_000 }), 'transient');
    expect(clock.sleeps).toEqual([10_000]); // the 60 s wait would end after the deadline
    expect(result).toMatchObject({
      code: 'Throttled',
      status: 429,
      retryAfterMs: 60_000,
      error: { code: 'TooManyRequests' },
      headers: { requestId: 'r2' },
      attempts: 2,
      reads: 0,
    });
  });

  it('uses deadlineMs from the options when the caller passes no deadline', async () => {
    const { client, clock } = setup([{ status: 503, headers: { 'retry-after': '5' } }], { deadlineMs: 4000 });
    const result = expectKind(await client.get(target), 'transient');
    expect(result).toMatchObject({ code: 'UpstreamUnavailable', status: 503, retryAfterMs: 5000, attempts: 1 });
    expect(result.error.code).toBe('UpstreamUnavailable');
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up on backoff past the deadline without inventing retryAfterMs', async () => {
    const { client } = setup([{ status: 503 }, { status: 503 }, { status: 503 }], {
      random: () => 0.9999,
      deadlineMs: 1200,
    });
    const result = expectKind(await client.get(target), 'transient');
    expect(result.attempts).toBe(2); // waited 500, then 1000 would pass 1200
    expect(result.retryAfterMs).toBeUndefined();
  });

  it('does not send at all when the deadline has already passed', async () => {
    const { client, http } = setup([{ status: 200 }]);
    const result = await client.get(target, { deadline: START - 1 });
    expect(result).toMatchObject({ kind: 'transient', code: 'Timeout', attempts: 0 });
    expect(http.sent).toHaveLength(0);
  });
});

describe('which failures are retried', () => {
  it.each([
    [400, armError('ValidationError', "'url' should not be empty.")],
    [404, armError('ResourceNotFound')],
    [409, armError('Conflict')],
    [403, armError('AuthorizationFailed')],
  ])('does not retry %i and passes ARM error body through', async (status, body) => {
    const { client, clock, http } = setup([{ status, body }]);
    const result = expectKind(await client.createOrUpdate(target, desired), 'armError');
    expect(result).toMatchObject({ status, error: body.error, attempts: 1, reads: 0 });
    expect(http.sent).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('passes details and target of ARM errors through', async () => {
    const error = {
      code: 'ValidationError',
      message: 'One or more fields contain incorrect values:',
      details: [{ code: 'ValidationError', target: 'url', message: "'url' should not be empty." }],
    };
    const { client } = setup([{ status: 400, body: { error } }]);
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'armError', error });
  });

  it('retries 409 PessimisticConcurrencyConflict', async () => {
    const { client } = setup([{ status: 409, body: armError('PessimisticConcurrencyConflict') }, { status: 200 }]);
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'ok', attempts: 2 });
  });

  it('retries network errors and reports Timeout for timeouts, UpstreamUnavailable otherwise', async () => {
    const a = setup([networkError('ETIMEDOUT'), networkError('ETIMEDOUT')], { deadlineMs: 1000, random: () => 0.9 });
    expect(await a.client.get(target)).toMatchObject({ kind: 'transient', code: 'Timeout', attempts: 2 });
    const b = setup([networkError('ECONNRESET'), { status: 200, body: old }]);
    expect(await b.client.get(target)).toMatchObject({ kind: 'ok', attempts: 2 });
  });

  it('does not retry a failure retrying cannot cure (e.g. an untrusted certificate)', async () => {
    const { client, http } = setup([networkError('SELF_SIGNED_CERT_IN_CHAIN')]);
    const result = expectKind(await client.get(target), 'transient');
    expect(result.code).toBe('UpstreamUnavailable');
    expect(result.error.message).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(http.sent).toHaveLength(1);
  });

  it('abandons an attempt after perAttemptTimeoutMs and retries it', async () => {
    const { client, http } = setup(['hang', { status: 200, body: old }], { perAttemptTimeoutMs: 20 });
    const result = await client.get(target);
    expect(result).toMatchObject({ kind: 'ok', body: old, attempts: 2 });
    expect(http.sent).toHaveLength(2);
  });
});

describe('optimistic concurrency on update', () => {
  it('with an explicit ETag, 412 is final', async () => {
    const { client, http } = setup([{ status: 412 }]);
    const result = expectKind(await client.update(target, desired, { ifMatch: '"mine"' }), 'armError');
    expect(result).toMatchObject({ status: 412, error: { code: 'PreconditionFailed' }, attempts: 1, reads: 0 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([['PATCH', '"mine"']]);
  });

  it('without an ETag, reads it (HEAD) and PATCHes with it, never *', async () => {
    const { client, http } = setup([
      { status: 200, headers: { etag: '"v1"' } },
      { status: 200, body: applied },
    ]);
    const result = await client.update(target, desired);
    expect(result).toMatchObject({ kind: 'ok', status: 200, body: applied, attempts: 1, reads: 1 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['HEAD', undefined],
      ['PATCH', '"v1"'],
    ]);
  });

  it('on 412 re-reads the ETag and re-applies after a jittered pause', async () => {
    const { client, http, clock } = setup([
      { status: 200, headers: { etag: '"v1"' } },
      { status: 412, body: armError('PreconditionFailed') },
      { status: 200, headers: { etag: '"v2"' } },
      { status: 200, body: applied },
    ]);
    const result = await client.update(target, desired);
    expect(result).toMatchObject({ kind: 'ok', attempts: 2, reads: 2 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['HEAD', undefined],
      ['PATCH', '"v1"'],
      ['HEAD', undefined],
      ['PATCH', '"v2"'],
    ]);
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(0);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(100);
  });

  it('keeps losing races until the deadline, then reports a transient failure', async () => {
    const script: Reply[] = [];
    for (let i = 0; i < 20; i++) script.push({ status: 200, headers: { etag: `"v${i}"` } }, { status: 412 });
    const { client } = setup(script, { random: () => 0.9999, deadlineMs: 2000 });
    const result = expectKind(await client.update(target, desired), 'transient');
    // Waits 100, 200, 400, 800 (1500 in all); the next 1600 would pass 2000.
    expect(result).toMatchObject({ code: 'Timeout', status: 412, attempts: 5, reads: 5 });
    expect(result.error.code).toBe('PreconditionFailed');
  });

  it('lets many concurrent updates of one backend all land', async () => {
    // A tiny in-memory ARM: the ETag changes with each successful PATCH.
    let version = 0;
    const state: Record<string, unknown> = {};
    const http: HttpClient = {
      sendRequest: (request) => {
        const etag = `"v${version}"`;
        const reply = (status: number): Promise<PipelineResponse> =>
          Promise.resolve({ status, headers: createHttpHeaders({ etag: `"v${version}"` }), request, bodyAsText: '' });
        if (request.method === 'HEAD') return reply(200);
        if (request.headers.get('if-match') !== etag) return reply(412);
        Object.assign(state, (JSON.parse(request.body as string) as { properties: object }).properties);
        version += 1;
        return reply(200);
      },
    };
    const clock = new FakeClock();
    const client = createArmBackendClient({
      endpoint: ENDPOINT,
      apiVersion: '2024-05-01',
      credential: createArmCredential({ endpoint: ENDPOINT, accessToken: TOKEN }),
      clock,
      httpClient: http,
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.update(target, { properties: { [`k${i}`]: i } })),
    );
    expect(results.map((r) => r.kind)).toEqual(Array(8).fill('ok'));
    expect(version).toBe(8);
    expect(Object.keys(state).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('reports a missing backend on the ETag read as armError 404 without PATCHing', async () => {
    const { client, http } = setup([{ status: 404, body: armError('ResourceNotFound') }]);
    const result = await client.update(target, desired);
    expect(result).toMatchObject({ kind: 'armError', status: 404, attempts: 0, reads: 1 });
    expect(http.sent).toHaveLength(1);
  });
});

describe('writes with an unknown outcome', () => {
  it('PUT reset, then GET shows the desired state: done, without re-sending', async () => {
    const { client, http } = setup([
      networkError('ECONNRESET'),
      { status: 200, headers: { etag: '"after"' }, body: applied },
    ]);
    const result = expectKind(await client.createOrUpdate(target, desired), 'ok');
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'GET']);
    expect(result).toMatchObject({ status: 200, body: applied, attempts: 1, reads: 1 });
    expect(result.headers.etag).toBe('"after"');
  });

  it('PUT reset, then GET shows the old state: re-sent', async () => {
    const { client, http } = setup([
      networkError('ECONNRESET'),
      { status: 200, body: old },
      { status: 200, body: applied },
    ]);
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'ok', attempts: 2, reads: 1 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'GET', 'PUT']);
  });

  it('PUT timed out, then GET 404 (not created yet): re-sent', async () => {
    const { client, http } = setup(['hang', { status: 404 }, { status: 201, body: applied }], {
      perAttemptTimeoutMs: 20,
    });
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'ok', status: 201, attempts: 2 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'GET', 'PUT']);
  });

  it('PUT refused a connection (never sent): re-sent without a read', async () => {
    const { client, http } = setup([networkError('ECONNREFUSED'), { status: 201, body: applied }]);
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'ok', attempts: 2, reads: 0 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'PUT']);
  });

  it('PATCH with auto ETag reset, GET shows old state: re-sent with the ETag just read', async () => {
    const { client, http } = setup([
      { status: 200, headers: { etag: '"v1"' } },
      networkError('ECONNRESET'),
      { status: 200, headers: { etag: '"v2"' }, body: old },
      { status: 200, body: applied },
    ]);
    expect(await client.update(target, desired)).toMatchObject({ kind: 'ok', attempts: 2, reads: 2 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['HEAD', undefined],
      ['PATCH', '"v1"'],
      ['GET', undefined],
      ['PATCH', '"v2"'],
    ]);
  });

  it('PUT with If-Match: a 412 on the re-send after a gateway error checks whether our write landed', async () => {
    const { client, http } = setup([{ status: 504 }, { status: 412 }, { status: 200, body: applied }]);
    const result = await client.createOrUpdate(target, desired, { ifMatch: '"e1"' });
    expect(result).toMatchObject({ kind: 'ok', status: 200, body: applied, attempts: 2, reads: 1 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'PUT', 'GET']);
  });

  it('a check that used up the budget is not followed by another write past the deadline', async () => {
    // PUT reset; backoff 250 ms; the check's GET is throttled for the rest of the budget, then shows the old state.
    const { client, http, clock } = setup([
      networkError('ECONNRESET'),
      { status: 503, headers: { 'retry-after': '2' } },
      { status: 200, body: old },
    ]);
    const result = await client.createOrUpdate(target, desired, { ifMatch: '"e1"', deadline: START + 2250 });
    expect(clock.current).toBe(START + 2250);
    expect(result).toMatchObject({ kind: 'transient', code: 'UpstreamUnavailable', attempts: 1, reads: 2 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'GET', 'GET']);
  });

  it('DELETE reset, then GET 404: done', async () => {
    const { client, http } = setup([networkError('ECONNRESET'), { status: 404, body: armError('ResourceNotFound') }]);
    expect(await client.delete(target)).toMatchObject({ kind: 'ok', status: 200, attempts: 1, reads: 1 });
    expect(http.sent.map((s) => s.method)).toEqual(['DELETE', 'GET']);
  });

  it('DELETE reset, then GET still finds it: re-sent', async () => {
    const { client, http } = setup([networkError('ECONNRESET'), { status: 200, body: old }, { status: 200 }]);
    expect(await client.delete(target)).toMatchObject({ kind: 'ok', attempts: 2, reads: 1 });
    expect(http.sent.map((s) => s.method)).toEqual(['DELETE', 'GET', 'DELETE']);
  });

  it('reconnect reset after sending: not sent again, ends as an unknown outcome', async () => {
    const { client, http } = setup([networkError('ECONNRESET'), { status: 202 }]);
    const result = await client.reconnect(target);
    expect(result).toMatchObject({ kind: 'transient', outcomeUnknown: true, attempts: 1, reads: 0 });
    expect(http.sent.map((s) => s.method)).toEqual(['POST']);
    expect(http.sent[0]!.body).toBeUndefined();
  });

  it('reconnect refused before sending (429, connection refused): sent again', async () => {
    const { client, http } = setup([
      { status: 429, headers: { 'retry-after': '0' } },
      networkError('ECONNREFUSED'),
      { status: 202 },
    ]);
    expect(await client.reconnect(target)).toMatchObject({ kind: 'ok', status: 202, attempts: 3 });
    expect(http.sent.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
  });

  it('reconnect answered 500 (may have been applied): not sent again', async () => {
    const { client, http } = setup([{ status: 500 }, { status: 202 }]);
    expect(await client.reconnect(target)).toMatchObject({ kind: 'transient', outcomeUnknown: true });
    expect(http.sent.map((s) => s.method)).toEqual(['POST']);
  });
});

describe("the resource provider's 422 (recorded: Timeout, ManagementApiRequestFailed)", () => {
  const timeout422 = { status: 422, body: armError('Timeout', 'Call to Management API timed out for the service.') };

  it('GET answered 422 Timeout is retried', async () => {
    const { client, http } = setup([timeout422, { status: 200, body: applied }]);
    expect(await client.get(target)).toMatchObject({ kind: 'ok', status: 200, attempts: 2 });
    expect(http.sent.map((s) => s.method)).toEqual(['GET', 'GET']);
  });

  it('PATCH answered 422 after it was applied: the read finds it applied, nothing is sent again', async () => {
    const { client, http } = setup([
      { status: 422, body: armError('ManagementApiRequestFailed') },
      {
        status: 200,
        headers: { etag: '"v2"' },
        body: applied,
      },
    ]);
    const result = await client.update(target, desired, { currentEtag: '"v1"' });
    expect(result).toMatchObject({ kind: 'ok', status: 200, attempts: 1, reads: 1 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['PATCH', '"v1"'],
      ['GET', undefined],
    ]);
  });

  it('PUT answered 422 before it was applied: read, then re-sent on the ETag just read', async () => {
    const { client, http } = setup([
      timeout422,
      { status: 200, headers: { etag: '"v1"' }, body: old },
      { status: 200, body: applied },
    ]);
    const result = await client.createOrUpdate(target, desired, { currentEtag: '"v1"' });
    expect(result).toMatchObject({ kind: 'ok', attempts: 2, reads: 1 });
    expect(http.sent.map((s) => [s.method, s.headers['if-match']])).toEqual([
      ['PUT', '"v1"'],
      ['GET', undefined],
      ['PUT', '"v1"'],
    ]);
  });

  it('a HEAD answered 422 (no body to tell the code) is retried', async () => {
    const { client, http } = setup([{ status: 422 }, { status: 200, headers: { etag: '"v1"' } }]);
    expect(await client.getEntityTag(target)).toMatchObject({ kind: 'ok', headers: { etag: '"v1"' } });
    expect(http.sent.map((s) => s.method)).toEqual(['HEAD', 'HEAD']);
  });

  it('another 422 code is a refusal, final', async () => {
    const { client, http } = setup([{ status: 422, body: armError('UnprocessableEntity') }]);
    expect(await client.get(target)).toMatchObject({ kind: 'armError', status: 422 });
    expect(http.sent).toHaveLength(1);
  });
});

describe('a create confirmed by a read reports what happened', () => {
  it('PUT of a backend known absent, reset after it was applied: 201 from the confirming read', async () => {
    const { client, http } = setup([networkError('ECONNRESET'), { status: 200, body: applied }]);
    const result = await client.createOrUpdate(target, desired, { currentEtag: null });
    expect(result).toMatchObject({ kind: 'ok', status: 201, attempts: 1, reads: 1 });
    expect(http.sent.map((s) => s.method)).toEqual(['PUT', 'GET']);
  });

  it('PUT timed out, read 404, then the late write shows up: 201', async () => {
    const { client } = setup(['hang', { status: 404 }, { status: 200, body: applied }], { perAttemptTimeoutMs: 1000 });
    expect(await client.createOrUpdate(target, desired)).toMatchObject({ kind: 'ok', status: 201, attempts: 1 });
  });
});

describe('list', () => {
  it('follows absolute nextLinks and concatenates value', async () => {
    const next = `${ENDPOINT}/subscriptions/x/backends?api-version=2024-05-01&$skiptoken=abc`;
    const { client, http } = setup([
      { status: 200, body: { value: [{ name: 'a' }], count: 3, nextLink: next } },
      { status: 200, body: { value: [{ name: 'b' }, { name: 'c' }], nextLink: '' } },
    ]);
    const result = await client.list(target);
    expect(result).toMatchObject({ kind: 'ok', body: { value: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] } });
    expect(result).toMatchObject({ attempts: 2, reads: 0 });
    expect(http.sent[0]!.url).toBe(BACKEND_URL.replace('/backends/b1?', '/backends?'));
    expect(http.sent[1]!.url).toBe(next);
  });

  it('stops at an absent nextLink', async () => {
    const { client } = setup([{ status: 200, body: { value: [] } }]);
    expect(await client.list(target)).toMatchObject({ kind: 'ok', body: { value: [] }, attempts: 1 });
  });

  it('never sends the token to a nextLink on another host', async () => {
    const { client, http } = setup([{ status: 200, body: { value: [1], nextLink: 'https://evil.example/next' } }]);
    expect(await client.list(target)).toMatchObject({ kind: 'armError', error: { code: 'InvalidNextLink' } });
    expect(http.sent).toHaveLength(1);
  });
});

describe('caller abort', () => {
  it('stops an in-flight request promptly and resolves transient RequestAborted', async () => {
    const { client, http } = setup(['hang', { status: 200 }]);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    const result = await client.createOrUpdate(target, desired, { signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ kind: 'transient', code: 'Timeout', error: { code: 'RequestAborted' } });
    expect(http.sent).toHaveLength(1); // no retry, no read after the abort
  });

  it('does not send when already aborted', async () => {
    const { client, http } = setup([{ status: 200 }]);
    const result = await client.get(target, { signal: AbortSignal.abort() });
    expect(result).toMatchObject({ kind: 'transient', error: { code: 'RequestAborted' }, attempts: 0 });
    expect(http.sent).toHaveLength(0);
  });

  it('ends a retry wait when aborted', async () => {
    const controller = new AbortController();
    const clock: Clock = {
      now: () => START,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    const { client, http } = setup([{ status: 503 }, { status: 200 }], { clock });
    setTimeout(() => controller.abort(), 20);
    const result = await client.get(target, { signal: controller.signal });
    expect(result).toMatchObject({ kind: 'transient', error: { code: 'RequestAborted' }, attempts: 1 });
    expect(http.sent).toHaveLength(1);
  });
});

describe('logging', () => {
  it('reports retries to the logger without bodies or tokens', async () => {
    const secret = 'opensesame-secret';
    const body = {
      properties: { url: 'https://x', credentials: { authorization: { scheme: 'Basic', parameter: secret } } },
    };
    const { client, warnings } = setup([
      { status: 503, body: armError('ServiceUnavailable', secret) },
      { status: 200 },
    ]);
    await client.createOrUpdate(target, body);
    expect(warnings).toHaveLength(1);
    const text = JSON.stringify(warnings);
    expect(text).toContain('PUT');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(TOKEN);
  });

  it("reports a call's retries to the logger it brings (the invocation's), not the client's", async () => {
    const { client, warnings } = setup([{ status: 503 }, { status: 200 }]);
    const own: string[] = [];
    await client.get(target, { logger: { warn: (msg) => own.push(msg) } });
    expect(own).toEqual(['Retrying ARM request']);
    expect(warnings).toEqual([]);
  });
});
