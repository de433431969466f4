/**
 * Issue 10, items 3, 4, 6, 8 and 9, against the real stack (ARM emulator over HTTPS, AMQP broker, Azurite): what an
 * attacker replaying signed calls, a sender of pathological input and an unlucky caller of a failing ARM can do.
 */
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { backendChangeStatusHandler } from '../../functions/backend-change-status';
import { backendChangesHandler } from '../../functions/backend-changes';
import { processBackendChangeHandler } from '../../functions/process-backend-change';
import { reconnectChange } from '../../shared/app/reconnect-fan-out';
import { createServices, withChangeService, type AppServices } from '../../functions/composition-root';
import { loadConfig } from '../../shared/config/settings';
import { parseResourceId } from '../../shared/domain/backend-id';
import {
  IDEMPOTENCY_KEY_HEADER,
  SIGNATURE_HEADER,
  signBody,
  TIMESTAMP_HEADER,
} from '../../shared/adapters/webhook-signature';
import { QUEUE, SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

jest.setTimeout(60_000);

const SECRET = 'hardening-webhook-secret';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ WEBHOOK_SECRETS: SECRET, HTTP_SYNC_SECONDS: '2', RECONNECT_AFTER: 'PT2M' });
});
afterAll(() => stack?.stop());
beforeEach(() => {
  stack.emulator.clearFaults();
  stack.emulator.reset();
});

const http = (services: () => AppServices = () => stack.services) => backendChangesHandler(services);
const queue = () => processBackendChangeHandler(() => stack.services);
const nowSeconds = () => String(Math.floor(Date.now() / 1000));
const body = { properties: { url: 'https://hard.example/', protocol: 'http' } };
const targetId = (backendId: string) => `${SERVICE_ID}/backends/${backendId}`;

function post(payload: string | Buffer, headers: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/backend-changes',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof payload === 'string' ? { string: payload } : { bytes: payload },
  });
}

function signed(payload: string | Buffer, key?: string, timestamp = nowSeconds()): Record<string, string> {
  const headers: Record<string, string> = {
    [SIGNATURE_HEADER]: signBody(SECRET, timestamp, payload, key),
    [TIMESTAMP_HEADER]: timestamp,
  };
  if (key !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = key;
  return headers;
}

async function call(
  payload: string | Buffer,
  headers: Record<string, string>,
): Promise<HttpResponseInit & { jsonBody?: any }> {
  return http()(post(payload, headers), stack.context('backendChanges'));
}

const writesTo = (backendId: string) =>
  stack.emulator.requests.filter((r) => r.path.endsWith(`/backends/${backendId}`) && r.method === 'PUT').length;

async function eventFor(requestId: string): Promise<any> {
  for (let i = 0; i < 150; i++) {
    const found = stack.events().find((e) => e.data.requestId === requestId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no event for ${requestId}`);
}

async function status(requestId: string): Promise<HttpResponseInit & { jsonBody?: any }> {
  return backendChangeStatusHandler(() => stack.services)(
    new HttpRequest({ method: 'GET', url: `http://localhost/api/backend-changes/x`, params: { requestId } }),
    stack.context('backendChangeStatus'),
  );
}

describe('replays of signed calls (item 3)', () => {
  it('a signed call without requestId applies once, however often it is replayed with other unsigned headers', async () => {
    const payload = JSON.stringify({ operation: 'createOrUpdate', target: targetId('replay-1'), body });
    const headers = signed(payload);
    const first = await call(payload, headers);
    expect(first.status).toBe(201);
    const requestId: string = first.jsonBody.requestId;
    expect(requestId).toMatch(/^webhook-[0-9a-f]{40}$/);
    // An operator fixes the backend by hand; replays within the tolerance must not overwrite the fix.
    stack.emulator.putBackend(targetId('replay-1'), { url: 'https://fixed.example/', protocol: 'http' });
    const writes = writesTo('replay-1');
    for (const extra of [{}, { prefer: 'respond-async' }, { 'x-forwarded-for': '10.0.0.1' }]) {
      const replay = await call(payload, { ...headers, ...extra });
      expect(replay.status).toBe(201);
      expect(replay.jsonBody.requestId).toBe(requestId);
    }
    expect(writesTo('replay-1')).toBe(writes);
    expect(stack.broker.messages(QUEUE).some((m) => m.messageId === requestId)).toBe(false);
  });

  it('an Idempotency-Key is signed: adding, changing or dropping it fails the signature', async () => {
    const payload = JSON.stringify({ operation: 'createOrUpdate', target: targetId('replay-2'), body });
    const keyed = signed(payload, 'deploy-77');
    const first = await call(payload, keyed);
    expect(first.status).toBe(201);
    expect(first.jsonBody.requestId).toBe('deploy-77');
    expect((await call(payload, { ...keyed, [IDEMPOTENCY_KEY_HEADER]: 'deploy-78' })).status).toBe(401);
    const { [IDEMPOTENCY_KEY_HEADER]: _dropped, ...unkeyed } = keyed;
    expect((await call(payload, unkeyed)).status).toBe(401);
    const plain = signed(payload);
    expect((await call(payload, { ...plain, [IDEMPOTENCY_KEY_HEADER]: 'other-key' })).status).toBe(401);
    expect(writesTo('replay-2')).toBe(1);
  });

  it('verifies the raw bytes: a body that is not valid UTF-8 is judged by its bytes, not its decoded text', async () => {
    const bytesOf = (byte: number) =>
      Buffer.concat([
        Buffer.from(
          `{"operation":"createOrUpdate","target":"${targetId('replay-3')}","body":{"properties":{"url":"https://r3.example/","protocol":"http","description":"`,
        ),
        Buffer.from([byte]),
        Buffer.from('"}}}'),
      ]);
    const original = bytesOf(0xff);
    const headers = signed(original);
    expect((await call(original, headers)).status).toBe(201);
    // 0xfe decodes to the same replacement character: the same text, different bytes, not what was signed.
    expect((await call(bytesOf(0xfe), headers)).status).toBe(401);
  });
});

describe('nesting and error size limits (item 4)', () => {
  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('HTTP: JSON nested 5,000 deep is refused with 400 TooDeep (no stack overflow)', async () => {
    const payload = deep(5000).replace(/^\{/, '{"requestId":"deep-http",');
    const res = await call(payload, signed(payload));
    expect(res.status).toBe(400);
    expect(res.jsonBody.error.details[0]).toMatchObject({ code: 'TooDeep', target: '$' });
    expect(res.jsonBody.requestId).toBe('deep-http');
  });

  it('queue: a deeply nested message is rejected with an event and a record, not dead-lettered', async () => {
    const message = JSON.parse(deep(5000).replace(/^\{/, '{"requestId":"deep-queue",')) as unknown;
    await expect(
      queue()(message, stack.context('processBackendChange', { messageId: 'deep-queue', deliveryCount: 1 })),
    ).resolves.toBeUndefined();
    expect((await eventFor('deep-queue')).data).toMatchObject({
      status: 'rejected',
      error: { code: 'ValidationError' },
    });
    expect((await status('deep-queue')).jsonBody).toMatchObject({ state: 'rejected' });
  });

  it('an answer to thousands of problems lists 50 and counts the rest, far below the topic limit', async () => {
    const properties: Record<string, unknown> = { url: 'https://x/', protocol: 'http' };
    for (let i = 0; i < 3000; i++) properties[`unknown${'x'.repeat(30)}${i}`] = i;
    const payload = JSON.stringify({
      requestId: 'many-problems',
      operation: 'createOrUpdate',
      target: targetId('m'),
      body: { properties },
    });
    const res = await call(payload, signed(payload));
    expect(res.status).toBe(400);
    expect(res.jsonBody.error.details).toHaveLength(51);
    expect(res.jsonBody.error.details[50]).toMatchObject({ code: 'MoreProblems' });
    expect(res.jsonBody.error.details[50].message).toMatch(/2950 more/);
    expect(JSON.stringify(res.jsonBody).length).toBeLessThan(20_000);
    expect(JSON.stringify(await eventFor('many-problems')).length).toBeLessThan(20_000);
  });
});

describe("the timer's requestIds are reserved (item 6)", () => {
  const scheduledAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
  const timerMessage = () =>
    reconnectChange(
      { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'timed' },
      scheduledAt,
      'PT2M',
    );

  it('HTTP callers get 400 ReservedRequestId, in the body or as Idempotency-Key, and nothing is recorded', async () => {
    const id = timerMessage().messageId;
    const payload = JSON.stringify({ requestId: id, operation: 'reconnect', target: targetId('timed') });
    const res = await call(payload, signed(payload));
    expect(res.status).toBe(400);
    expect(res.jsonBody.error.details[0]).toMatchObject({ code: 'ReservedRequestId', target: 'requestId' });
    const unkeyed = JSON.stringify({ operation: 'reconnect', target: targetId('timed') });
    const keyed = await call(unkeyed, signed(unkeyed, id));
    expect(keyed.status).toBe(400);
    expect(keyed.jsonBody.error.details[0]).toMatchObject({ code: 'ReservedRequestId', target: 'Idempotency-Key' });
    expect((await status(id)).status).toBe(404);
  });

  it("on the queue only the timer's own request may use its id: an impostor is rejected and cannot block it", async () => {
    stack.emulator.putBackend(targetId('timed'), body.properties);
    const own = timerMessage();
    const impostor = {
      requestId: own.messageId,
      operation: 'update',
      target: targetId('timed'),
      body: { properties: { description: 'x' } },
    };
    await queue()(impostor, stack.context('processBackendChange', { messageId: 'impostor-1', deliveryCount: 1 }));
    const rejected = await eventFor(own.messageId);
    expect(rejected.data).toMatchObject({ status: 'rejected', error: { details: [{ code: 'ReservedRequestId' }] } });
    await queue()(own.body, stack.context('processBackendChange', { messageId: own.messageId, deliveryCount: 1 }));
    for (
      let i = 0;
      i < 100 && !stack.events().some((e) => e.data.requestId === own.messageId && e.data.status === 'succeeded');
      i++
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(
      stack
        .events()
        .filter((e) => e.data.requestId === own.messageId)
        .map((e) => e.data.status),
    ).toEqual(['rejected', 'succeeded']);
    expect(
      stack.emulator.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/backends/timed/reconnect')),
    ).toHaveLength(1);
  });
});

describe('input edges (item 8)', () => {
  it('an invalid Idempotency-Key is refused with 400, not ignored', async () => {
    const payload = JSON.stringify({ operation: 'createOrUpdate', target: targetId('edge-1'), body });
    for (const key of ['has space', 'x'.repeat(129), 'semi;colon']) {
      const res = await call(payload, { ...signed(payload), [IDEMPOTENCY_KEY_HEADER]: key });
      expect(res.status).toBe(400);
      expect(res.jsonBody.error.details[0]).toMatchObject({ target: 'Idempotency-Key' });
    }
    expect(writesTo('edge-1')).toBe(0);
  });

  it('an async request while the broker is down answers 503 with Retry-After', async () => {
    const down = withChangeService({
      ...stack.services,
      queue: { enqueue: () => Promise.reject(new Error('connection refused')) },
    });
    const payload = JSON.stringify({
      requestId: 'async-down',
      operation: 'createOrUpdate',
      target: targetId('edge-2'),
      body,
    });
    const res = await http(() => down)(
      post(payload, { ...signed(payload), prefer: 'respond-async' }),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(503);
    expect(Number((res.headers as Record<string, string>)['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await status('async-down')).status).toBe(404);
  });

  it('a queue messageId that is no valid requestId gets a derived one that GET finds, the original kept', async () => {
    const messageId = 'orders/4711 #1';
    await queue()(
      { operation: 'createOrUpdate', target: targetId('edge-3'), body },
      stack.context('processBackendChange', { messageId, deliveryCount: 1 }),
    );
    const event =
      stack.events().find((e) => e.data.messageId === messageId) ??
      (await new Promise((r) => setTimeout(r, 500)), stack.events().find((e) => e.data.messageId === messageId));
    expect(event.data.requestId).toMatch(/^msg-[0-9a-f]{40}$/);
    expect(event.data.status).toBe('succeeded');
    const found = await status(event.data.requestId);
    expect(found.status).toBe(200);
    expect(found.jsonBody.outcome.messageId).toBe(messageId);
  });
});

describe("the ARM client's own logger (issue 8)", () => {
  it('reports the retries of a call that brings no logger of its own to the process log', async () => {
    stack.emulator.injectFault({ method: 'GET', status: 503, retryAfter: '0', count: 1 });
    const parsed = parseResourceId(targetId('logged'));
    if (parsed?.kind !== 'backend') throw new Error('test target must be a backend id');
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'warn').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      await stack.services.arm.get(parsed.target); // as the breaker and stalled-request reads call it: no logger
    } finally {
      spy.mockRestore();
    }
    const retries = lines.filter((line) => line.startsWith('Retrying ARM request'));
    expect(retries).toHaveLength(1);
    expect(retries[0]).toContain('"status":503');
    expect(retries[0]).not.toContain('api-version'); // no query, no bodies, no tokens
  });
});

describe('bounded waits (item 9, HTTP_SYNC_SECONDS=2)', () => {
  it('still throttled at the end of the budget: handed to the queue, 202 with Location and Retry-After', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '1', count: Infinity });
    const throttled = `/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/slow`;
    const payload = JSON.stringify({ requestId: 'handoff-1', operation: 'createOrUpdate', target: throttled, body });
    const started = Date.now();
    const res = await call(payload, signed(payload));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(res.status).toBe(202);
    const headers = res.headers as Record<string, string>;
    expect(headers['location']).toBe('/api/backend-changes/handoff-1');
    expect(Number(headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(stack.broker.messages(QUEUE).find((m) => m.messageId === 'handoff-1')?.body).toMatchObject({
      requestId: 'handoff-1',
    });
    expect((await status('handoff-1')).jsonBody.state).toBe('received');
  });

  it('persistent 500s end as failed (502) within the budget', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 500, count: Infinity });
    const payload = JSON.stringify({
      requestId: 'fail-500',
      operation: 'createOrUpdate',
      target: targetId('broken'),
      body,
    });
    const started = Date.now();
    const res = await call(payload, signed(payload));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(res.status).toBe(502);
    expect(res.jsonBody).toMatchObject({ status: 'failed', error: { code: 'UpstreamUnavailable' } });
  });

  it('without a queue: 429 with Retry-After, within the budget', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '1', count: Infinity });
    const { ServiceBusConnection: _sb, ...noQueue } = stack.settings;
    const services = createServices(loadConfig(noQueue));
    try {
      const throttled = `/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/slow`;
      const payload = JSON.stringify({
        requestId: 'no-queue-429',
        operation: 'createOrUpdate',
        target: throttled,
        body,
      });
      const started = Date.now();
      const res = await http(() => services)(post(payload, signed(payload)), stack.context('backendChanges'));
      expect(Date.now() - started).toBeLessThan(4000);
      expect(res.status).toBe(429);
      expect(Number((res.headers as Record<string, string>)['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await services.close();
    }
  });

  it('a queue delivery sends an operation at most ARM_MAX_ATTEMPTS (6) times', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 503, retryAfter: '0', count: Infinity });
    const msg = { requestId: 'capped-1', operation: 'createOrUpdate', target: targetId('capped'), body };
    await queue()(msg, stack.context('processBackendChange', { messageId: 'capped-1', deliveryCount: 10 }));
    expect((await eventFor('capped-1')).data).toMatchObject({ status: 'failed', attempts: 6 });
    expect(writesTo('capped')).toBe(6);
  });
});
