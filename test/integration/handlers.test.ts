import { HttpRequest } from '@azure/functions';
import { backendChangeStatusHandler } from '../../functions/backend-change-status';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import { fingerprintRequest } from '../../shared/domain/fingerprint';
import { backendChangesHandler } from '../../functions/backend-changes';
import { processBackendChangeHandler } from '../../functions/process-backend-change';
import { scheduledReconnectHandler } from '../../functions/scheduled-reconnect';
import { QUEUE, SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    RECONNECT_TARGETS: `${SERVICE_ID}`,
    RECONNECT_AFTER: 'PT2M',
  });
});
afterAll(() => stack.stop());
beforeEach(() => stack.emulator.reset());

const target = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'h1' };
const body = { properties: { url: 'https://h1/', protocol: 'http' } };

function post(payload: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/backend-changes',
    headers,
    body: { string: payload },
  });
}

async function eventFor(requestId: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const found = stack.events().find((e) => e.data.requestId === requestId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no event for ${requestId}`);
}

describe('backendChanges (HTTP)', () => {
  const http = () => backendChangesHandler(() => stack.services);

  it('applies a valid request synchronously: ARM status, outcome body, result event', async () => {
    const res = await http()(
      post(JSON.stringify({ requestId: 'http-1', operation: 'createOrUpdate', target, body })),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(201);
    expect(res.jsonBody).toMatchObject({ requestId: 'http-1', status: 'succeeded', created: true, attempts: 1 });
    const event = await eventFor('http-1');
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'com.apim-backend-changes.backend-change.succeeded',
      subject: `${SERVICE_ID}/backends/h1`,
    });
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('answers 400 naming every invalid field, publishes a rejected event and sends nothing to ARM', async () => {
    const bad = {
      requestId: 'http-bad',
      operation: 'createOrUpdate',
      target: { ...target, serviceName: '-bad-' },
      body: { properties: { url: '', protocol: 'ftp' } },
    };
    const res = await http()(post(JSON.stringify(bad)), stack.context('backendChanges'));
    expect(res.status).toBe(400);
    const targets = res.jsonBody.error.details.map((d: any) => d.target);
    expect(targets).toEqual(
      expect.arrayContaining(['target.serviceName', 'body.properties.url', 'body.properties.protocol']),
    );
    expect((await eventFor('http-bad')).type).toMatch(/\.rejected$/);
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('answers 400 for a body that is not JSON or not an object', async () => {
    for (const payload of ['{not json', '[1,2]', '"text"', 'null']) {
      const res = await http()(post(payload), stack.context('backendChanges'));
      expect(res.status).toBe(400);
      expect(res.jsonBody.status).toBe('rejected');
      expect(res.jsonBody.error.details.length).toBeGreaterThan(0);
    }
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('answers 415 for a non-JSON content type and 413 above the body limit', async () => {
    const text = await http()(post('{}', { 'content-type': 'text/plain' }), stack.context('backendChanges'));
    expect(text.status).toBe(415);
    const huge = JSON.stringify({
      operation: 'createOrUpdate',
      target,
      body: { properties: { ...body.properties, description: 'x'.repeat(300_000) } },
    });
    const large = await http()(post(huge), stack.context('backendChanges'));
    expect(large.status).toBe(413);
  });

  it('answers 403 for delete unless allowed', async () => {
    const res = await http()(post(JSON.stringify({ operation: 'delete', target })), stack.context('backendChanges'));
    expect(res.status).toBe(403);
    expect(res.jsonBody.error.code).toBe('OperationNotAllowed');
  });

  it('passes ARM’s 4xx through (412 for a stale explicit ETag)', async () => {
    stack.emulator.putBackend(`${SERVICE_ID}/backends/h1`, body.properties);
    const res = await http()(
      post(
        JSON.stringify({ operation: 'update', target, ifMatch: '"stale"', body: { properties: { description: 'x' } } }),
      ),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(412);
    expect(res.jsonBody.error.code).toBe('PreconditionFailed');
  });

  it('hands a change ARM keeps throttling to the queue: 202 with Location and Retry-After', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '30', count: Infinity });
    // ARM throttles per subscription, and so does the client's write limiter: use a subscription of its own.
    const throttled = { ...target, subscriptionId: '11111111-1111-1111-1111-111111111111' };
    const res = await http()(
      post(JSON.stringify({ requestId: 'throttled-1', operation: 'createOrUpdate', target: throttled, body })),
      stack.context('backendChanges'),
    );
    stack.emulator.clearFaults();
    expect(res.status).toBe(202);
    expect(Number((res.headers as Record<string, string>)['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((res.headers as Record<string, string>)['location']).toBe('/api/backend-changes/throttled-1');
    expect(stack.broker.messages(QUEUE).some((m) => m.messageId === 'throttled-1')).toBe(true);
  });

  it('with Prefer: respond-async validates, enqueues and answers 202 with a Location', async () => {
    const res = await http()(
      post(JSON.stringify({ requestId: 'async-1', operation: 'createOrUpdate', target, body }), {
        'content-type': 'application/json',
        prefer: 'respond-async',
      }),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(202);
    expect(res.jsonBody).toEqual({ requestId: 'async-1', status: 'accepted' });
    expect((res.headers as Record<string, string>)['location']).toBe('/api/backend-changes/async-1');
    const queued = stack.broker.messages(QUEUE).find((m) => m.messageId === 'async-1');
    expect(queued?.body).toMatchObject({ requestId: 'async-1', operation: 'createOrUpdate' });
    expect(stack.emulator.requests).toHaveLength(0);
  });
});

describe('the change ledger through the HTTP function', () => {
  const http = () => backendChangesHandler(() => stack.services);
  const status = () => backendChangeStatusHandler(() => stack.services);
  const get = (requestId: string) =>
    new HttpRequest({ method: 'GET', url: `http://localhost/api/backend-changes/${requestId}`, params: { requestId } });

  it('answers a repeated requestId from the record without a second ARM write', async () => {
    const request = JSON.stringify({ requestId: 'dup-1', operation: 'createOrUpdate', target, body });
    const first = await http()(post(request), stack.context('backendChanges'));
    const second = await http()(post(request), stack.context('backendChanges'));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.jsonBody).toEqual(first.jsonBody);
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('refuses the same requestId for a different request with 409 RequestIdConflict', async () => {
    await http()(
      post(JSON.stringify({ requestId: 'dup-2', operation: 'createOrUpdate', target, body })),
      stack.context('backendChanges'),
    );
    const other = {
      requestId: 'dup-2',
      operation: 'createOrUpdate',
      target,
      body: { properties: { ...body.properties, description: 'different' } },
    };
    const res = await http()(post(JSON.stringify(other)), stack.context('backendChanges'));
    expect(res.status).toBe(409);
    expect(res.jsonBody.error.code).toBe('RequestIdConflict');
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('GET /api/backend-changes/{requestId} tells what happened, and 404 when unknown', async () => {
    await http()(
      post(JSON.stringify({ requestId: 'status-1', operation: 'createOrUpdate', target, body })),
      stack.context('backendChanges'),
    );
    const found = await status()(get('status-1'), stack.context('backendChangeStatus'));
    expect(found.status).toBe(200);
    expect(found.jsonBody).toMatchObject({
      requestId: 'status-1',
      state: 'succeeded',
      published: true,
      outcome: { status: 'succeeded', httpStatus: 201 },
    });
    expect(JSON.stringify(found.jsonBody)).not.toContain('fingerprint');
    const missing = await status()(get('never-seen'), stack.context('backendChangeStatus'));
    expect(missing.status).toBe(404);
  });

  it('an Idempotency-Key header makes a retried call without requestId a duplicate, not a second write', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'idem-1' };
    const payload = JSON.stringify({ operation: 'createOrUpdate', target, body });
    const first = await http()(post(payload, headers), stack.context('backendChanges'));
    const again = await http()(post(payload, headers), stack.context('backendChanges'));
    expect(first.status).toBe(201);
    expect(first.jsonBody.requestId).toBe('idem-1');
    expect(again.jsonBody).toEqual(first.jsonBody);
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('a delivery that crashed mid-change (lease left behind) is taken over once its lease runs out', async () => {
    const raw = { requestId: 'crashed-1', operation: 'createOrUpdate', target, body };
    const parsed = parseChangeRequest(raw);
    if (!parsed.ok) throw new Error('fixture invalid');
    const ledger = stack.services.ledger!;
    const crashed = await ledger.claim({
      requestId: 'crashed-1',
      fingerprint: fingerprintRequest(parsed.request),
      leaseMs: 1500,
      now: new Date(),
    });
    expect(crashed.kind).toBe('claimed');
    const queue = processBackendChangeHandler(() => stack.services);
    await queue(raw, stack.context('processBackendChange', { messageId: 'crashed-1', deliveryCount: 2 }));
    expect((await eventFor('crashed-1')).data).toMatchObject({ status: 'succeeded', httpStatus: 201 });
    expect(await ledger.get('crashed-1')).toMatchObject({ state: 'succeeded', deliveries: 2, published: true });
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('an async request is known (received) as soon as it is accepted', async () => {
    const res = await http()(
      post(JSON.stringify({ requestId: 'async-status', operation: 'createOrUpdate', target, body }), {
        'content-type': 'application/json',
        prefer: 'respond-async',
      }),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(202);
    const found = await status()(get('async-status'), stack.context('backendChangeStatus'));
    expect(found.jsonBody).toMatchObject({ requestId: 'async-status', state: 'received' });
  });
});

describe('processBackendChange (queue)', () => {
  const queue = () => processBackendChangeHandler(() => stack.services);

  it('uses the messageId as requestId when the body has none, and carries the correlationId', async () => {
    await queue()(
      { operation: 'createOrUpdate', target, body },
      stack.context('processBackendChange', { messageId: 'msg-1', deliveryCount: 1, correlationId: 'corr-1' }),
    );
    const event = await eventFor('msg-1');
    expect(event.data).toMatchObject({ status: 'succeeded', httpStatus: 201 });
    const message = stack.broker
      .messages('backend-change-results/Subscriptions/all')
      .find((m) => (m.body as any).data.requestId === 'msg-1');
    expect(message?.correlationId).toBe('corr-1');
  });

  it('publishes rejected and returns (no retry) for a poison message', async () => {
    await expect(
      queue()('this is not json', stack.context('processBackendChange', { messageId: 'poison-1', deliveryCount: 1 })),
    ).resolves.toBeUndefined();
    expect((await eventFor('poison-1')).data).toMatchObject({ status: 'rejected', error: { code: 'ValidationError' } });
  });

  it('throws for redelivery on a transient failure, and publishes failed only on the last delivery', async () => {
    stack.emulator.injectFault({ method: 'PUT', status: 503, retryAfter: '30', count: Infinity });
    const msg = { requestId: 'transient-1', operation: 'createOrUpdate', target, body };
    await expect(
      queue()(msg, stack.context('processBackendChange', { messageId: 'transient-1', deliveryCount: 1 })),
    ).rejects.toThrow(/redelivery/);
    expect(stack.events().some((e) => e.data.requestId === 'transient-1')).toBe(false);
    await queue()(msg, stack.context('processBackendChange', { messageId: 'transient-1', deliveryCount: 10 }));
    stack.emulator.clearFaults();
    expect((await eventFor('transient-1')).data).toMatchObject({
      status: 'failed',
      error: { code: 'UpstreamUnavailable' },
    });
  });
});

describe('scheduledReconnect (timer)', () => {
  it('fans out one reconnect per backend of the service with stable requestIds', async () => {
    for (const name of ['r1', 'r2', 'r3']) stack.emulator.putBackend(`${SERVICE_ID}/backends/${name}`, body.properties);
    const timer = scheduledReconnectHandler(
      () => stack.services,
      () => '0 0 3 * * *',
    );
    await timer(undefined, stack.context('scheduledReconnect'));
    const queued = stack.broker.messages(QUEUE).filter((m) => String(m.messageId).startsWith('reconnect-'));
    const ids = queued.map((m) => (m.body as any).target).sort();
    expect(ids).toEqual(['r1', 'r2', 'r3'].map((n) => `${SERVICE_ID}/backends/${n}`));
    expect(queued[0]!.body).toMatchObject({ operation: 'reconnect', body: { properties: { after: 'PT2M' } } });
    // A re-fired timer for the same occurrence yields the same ids: duplicate detection drops them.
    await timer(undefined, stack.context('scheduledReconnect'));
    expect(stack.broker.messages(QUEUE).filter((m) => String(m.messageId).startsWith('reconnect-'))).toHaveLength(3);
  });
});
