/**
 * The webhook's two gates, against the real stack: HMAC signatures (`WEBHOOK_SECRETS`) and the blast radius
 * (`ALLOWED_SCOPES`). A refused call must cost nothing downstream: no ARM call, no event, no ledger record, no
 * queue message.
 */
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { backendChangeStatusHandler } from '../../functions/backend-change-status';
import { scheduledReconnectHandler } from '../../functions/scheduled-reconnect';
import { backendChangesHandler } from '../../functions/backend-changes';
import { processBackendChangeHandler } from '../../functions/process-backend-change';
import { SIGNATURE_HEADER, signBody, TIMESTAMP_HEADER } from '../../shared/adapters/webhook-signature';
import { QUEUE, SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

jest.setTimeout(60_000);

const OLD_SECRET = 'old-webhook-secret';
const NEW_SECRET = 'new-webhook-secret';
const OTHER_SERVICE = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    WEBHOOK_SECRETS: `${OLD_SECRET},${NEW_SECRET}`,
    // Backend-level entries (so a pool can be inside while a member is not), a workspace, and another service.
    ALLOWED_SCOPES: [
      `${SERVICE_ID}/backends/in-1`,
      `${SERVICE_ID}/backends/pool-in`,
      `${SERVICE_ID}/backends/member-in`,
      `${SERVICE_ID}/workspaces/wks1`,
      OTHER_SERVICE,
    ].join(','),
    RECONNECT_TARGETS: [SERVICE_ID, `${SERVICE_ID}/workspaces/wks1`, `${SERVICE_ID}/backends/in-1`].join(','),
  });
});
afterAll(() => stack?.stop());
beforeEach(() => stack.emulator.reset());

const http = () => backendChangesHandler(() => stack.services);
const nowSeconds = () => String(Math.floor(Date.now() / 1000));
const body = { properties: { url: 'https://in.example/', protocol: 'http' } };

function post(payload: string, headers: Record<string, string>): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://localhost/api/backend-changes',
    headers: { 'content-type': 'application/json', ...headers },
    body: { string: payload },
  });
}

/** Headers of a correctly signed call. */
function signed(payload: string, secret = NEW_SECRET, timestamp = nowSeconds()): Record<string, string> {
  return { [SIGNATURE_HEADER]: signBody(secret, timestamp, payload), [TIMESTAMP_HEADER]: timestamp };
}

async function eventFor(requestId: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const found = stack.events().find((e) => e.data.requestId === requestId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no event for ${requestId}`);
}

async function statusOf(requestId: string): Promise<number | undefined> {
  const res = await backendChangeStatusHandler(() => stack.services)(
    new HttpRequest({ method: 'GET', url: `http://localhost/api/backend-changes/${requestId}`, params: { requestId } }),
    stack.context('backendChangeStatus'),
  );
  return res.status;
}

/** Waits long enough for a publish that should not happen to have happened. */
const settle = () => new Promise((r) => setTimeout(r, 200));

describe('webhook signatures (WEBHOOK_SECRETS set)', () => {
  it('applies a correctly signed request, by either of the rotated secrets', async () => {
    for (const [i, secret] of [OLD_SECRET, NEW_SECRET].entries()) {
      const payload = JSON.stringify({
        requestId: `signed-${i}`,
        operation: 'createOrUpdate',
        target: `${SERVICE_ID}/backends/in-1`,
        body: { properties: { ...body.properties, description: `by secret ${i}` } },
      });
      const res = await http()(post(payload, signed(payload, secret)), stack.context('backendChanges'));
      expect(res.status).toBeLessThan(300);
      expect(res.jsonBody).toMatchObject({ requestId: `signed-${i}`, status: 'succeeded' });
      expect((await eventFor(`signed-${i}`)).data.status).toBe('succeeded');
    }
    expect(stack.emulator.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('answers 202 to a signed asynchronous request', async () => {
    const payload = JSON.stringify({
      requestId: 'signed-async',
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/backends/in-1`,
      body,
    });
    const res = await http()(
      post(payload, { ...signed(payload), prefer: 'respond-async' }),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(202);
  });

  describe('refuses every unsigned or badly signed call with the same 401, and nothing happens downstream', () => {
    const request = (requestId: string) =>
      JSON.stringify({ requestId, operation: 'createOrUpdate', target: `${SERVICE_ID}/backends/in-1`, body });
    const old = () => String(Math.floor(Date.now() / 1000) - 301);
    const future = () => String(Math.floor(Date.now() / 1000) + 301);

    const failures: Array<[string, (payload: string) => Record<string, string>]> = [
      ['no signature headers', () => ({})],
      ['only the timestamp', (p) => ({ [TIMESTAMP_HEADER]: signed(p)[TIMESTAMP_HEADER]! })],
      ['only the signature', (p) => ({ [SIGNATURE_HEADER]: signed(p)[SIGNATURE_HEADER]! })],
      ['a wrong secret', (p) => signed(p, 'guessed-secret')],
      ['a retired secret', (p) => signed(p, 'retired-webhook-secret')],
      ['a signature of another body', (p) => signed(p.replace('in-1', 'in-2'))],
      ['a tampered timestamp', (p) => ({ ...signed(p), [TIMESTAMP_HEADER]: String(Number(nowSeconds()) - 5) })],
      ['a timestamp too old (replay)', (p) => signed(p, NEW_SECRET, old())],
      ['a timestamp too far in the future', (p) => signed(p, NEW_SECRET, future())],
      ['a malformed signature header', (p) => ({ ...signed(p), [SIGNATURE_HEADER]: 'not-a-signature' })],
      [
        'the digest without the sha256= prefix',
        (p) => ({ ...signed(p), [SIGNATURE_HEADER]: signed(p)[SIGNATURE_HEADER]!.slice(7) }),
      ],
      ['a timestamp in milliseconds', (p) => signed(p, NEW_SECRET, String(Date.now()))],
    ];

    const seen: HttpResponseInit[] = [];

    it.each(failures)('%s', async (_name, headersFor) => {
      const requestId = `unsigned-${seen.length}`;
      const payload = request(requestId);
      const eventsBefore = stack.events().length;
      const res = await http()(post(payload, headersFor(payload)), stack.context('backendChanges'));
      seen.push(res);
      expect(res.status).toBe(401);
      expect(res.jsonBody).toEqual({ error: { code: 'Unauthorized', message: expect.any(String) } });
      // Same answer whatever failed: no hint which part (header, secret, body, time) was wrong.
      expect(res).toEqual(seen[0]);
      expect(JSON.stringify(res.jsonBody)).not.toMatch(/timestamp|expired|secret|missing|header|tamper|old|future/i);
      await settle();
      expect(stack.emulator.requests).toHaveLength(0);
      expect(stack.events().length).toBe(eventsBefore);
      expect(stack.events().some((e) => e.data.requestId === requestId)).toBe(false);
      expect(await statusOf(requestId)).toBe(404); // not even recorded in the ledger
    });

    it('also for an invalid body (no rejected event, no ledger record for unauthenticated junk)', async () => {
      const payload = JSON.stringify({ requestId: 'unsigned-invalid', operation: 'explode' });
      const eventsBefore = stack.events().length;
      const res = await http()(post(payload, signed(payload, 'guessed-secret')), stack.context('backendChanges'));
      expect(res.status).toBe(401);
      await settle();
      expect(stack.events().length).toBe(eventsBefore);
      expect(await statusOf('unsigned-invalid')).toBe(404);
    });

    it('also with Prefer: respond-async (nothing enqueued)', async () => {
      const payload = request('unsigned-async');
      const res = await http()(post(payload, { prefer: 'respond-async' }), stack.context('backendChanges'));
      expect(res.status).toBe(401);
      expect(stack.broker.messages(QUEUE).some((m) => m.messageId === 'unsigned-async')).toBe(false);
      expect(await statusOf('unsigned-async')).toBe(404);
    });
  });
});

describe('allowed scopes (ALLOWED_SCOPES set)', () => {
  const outside = [
    ['a backend id that extends an allowed one (in-10 vs in-1)', `${SERVICE_ID}/backends/in-10`],
    ['a service whose name extends an allowed one', `${OTHER_SERVICE}0/backends/b1`],
    ['a service-level backend next to an allowed workspace', `${SERVICE_ID}/backends/wks1`],
    ['another workspace', `${SERVICE_ID}/workspaces/wks10/backends/b1`],
  ] as const;

  it('applies requests inside (any casing), as a positive control', async () => {
    const payload = JSON.stringify({
      requestId: 'scope-in',
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/backends/in-1`.toUpperCase().replace('MICROSOFT.APIMANAGEMENT', 'Microsoft.ApiManagement'),
      body,
    });
    const res = await http()(post(payload, signed(payload)), stack.context('backendChanges'));
    expect(res.status).toBe(201);
    const ws = JSON.stringify({
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/workspaces/wks1/backends/b1`,
      body,
    });
    expect((await http()(post(ws, signed(ws)), stack.context('backendChanges'))).status).toBe(201);
  });

  it.each(outside)('HTTP sync: %s → 403 ScopeNotAllowed, rejected event, no ARM call', async (_name, target) => {
    const requestId = `scope-sync-${target.length}-${target.slice(-6).replace(/\W/g, '')}`;
    const payload = JSON.stringify({ requestId, operation: 'createOrUpdate', target, body });
    const res = await http()(post(payload, signed(payload)), stack.context('backendChanges'));
    expect(res.status).toBe(403);
    expect(res.jsonBody).toMatchObject({
      requestId,
      status: 'rejected',
      error: { code: 'ScopeNotAllowed', details: [{ code: 'ScopeNotAllowed', target: 'target' }] },
    });
    expect((await eventFor(requestId)).data).toMatchObject({ status: 'rejected', error: { code: 'ScopeNotAllowed' } });
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('HTTP sync: a dry run outside is refused before it even reads from ARM', async () => {
    const payload = JSON.stringify({ operation: 'update', target: `${SERVICE_ID}/backends/x`, dryRun: true, body });
    const res = await http()(post(payload, signed(payload)), stack.context('backendChanges'));
    expect(res.status).toBe(403);
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('HTTP sync: a pool inside with a member outside → 403 naming the member', async () => {
    const payload = JSON.stringify({
      requestId: 'scope-pool',
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/backends/pool-in`,
      body: {
        properties: {
          type: 'Pool',
          pool: { services: [{ id: `${SERVICE_ID}/backends/member-in` }, { id: `${SERVICE_ID}/backends/member-out` }] },
        },
      },
    });
    const res = await http()(post(payload, signed(payload)), stack.context('backendChanges'));
    expect(res.status).toBe(403);
    expect(res.jsonBody.error.details).toEqual([
      { code: 'ScopeNotAllowed', target: 'body.properties.pool.services[1].id', message: expect.any(String) },
    ]);
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('HTTP async: refused at once with 403, not enqueued', async () => {
    const requestId = 'scope-async';
    const payload = JSON.stringify({ requestId, operation: 'createOrUpdate', target: outside[0][1], body });
    const res = await http()(
      post(payload, { ...signed(payload), prefer: 'respond-async' }),
      stack.context('backendChanges'),
    );
    expect(res.status).toBe(403);
    expect(res.jsonBody).toMatchObject({ status: 'rejected', error: { code: 'ScopeNotAllowed' } });
    expect(stack.broker.messages(QUEUE).some((m) => m.messageId === requestId)).toBe(false);
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it.each(outside)('queue: %s → rejected event, completed (no retry), no ARM call', async (_name, target) => {
    const messageId = `scope-queue-${target.length}-${target.slice(-6).replace(/\W/g, '')}`;
    await expect(
      processBackendChangeHandler(() => stack.services)(
        { operation: 'createOrUpdate', target, body },
        stack.context('processBackendChange', { messageId, deliveryCount: 1 }),
      ),
    ).resolves.toBeUndefined();
    expect((await eventFor(messageId)).data).toMatchObject({
      status: 'rejected',
      attempts: 0,
      error: { code: 'ScopeNotAllowed' },
    });
    expect(stack.emulator.requests).toHaveLength(0);
  });
});

describe('the reconnect timer and the allowed scopes', () => {
  it('lists nothing outside the scopes, skips workspace targets, and fans out only what is allowed', async () => {
    stack.emulator.putBackend(`${SERVICE_ID}/backends/in-1`, body.properties);
    const timer = scheduledReconnectHandler(
      () => stack.services,
      () => '0 0 4 * * *',
    );
    await expect(timer(undefined, stack.context('scheduledReconnect'))).rejects.toThrow(
      /outside ALLOWED_SCOPES.*workspace|workspace.*outside ALLOWED_SCOPES/s,
    );
    // The service id is outside (only some of its backends are allowed): it was not even listed.
    expect(stack.emulator.requests.filter((r) => r.method === 'GET')).toHaveLength(0);
    const queued = stack.broker.messages(QUEUE).filter((m) => String(m.messageId).startsWith('reconnect-'));
    expect(queued.map((m) => (m.body as any).target)).toEqual([`${SERVICE_ID}/backends/in-1`]);
  });
});
