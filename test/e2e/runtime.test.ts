import { ServiceBusClient } from '@azure/service-bus';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/runtime';
import { example, exampleTarget } from '../support/examples';
import { SERVICE_ID, SUB } from '../support/stack';
import { waitFor } from '../support/wait-for';

const EVENTS = 'backend-change-results/Subscriptions/all';
let runtime: LocalRuntime;
let sb: ServiceBusClient;
const logs: string[] = [];

beforeAll(async () => {
  runtime = await startLocalRuntime({
    port: 0,
    log: (line) => logs.push(line),
    settings: {
      ARM_ENDPOINT: undefined,
      ServiceBusConnection: undefined,
      RECONNECT_SCHEDULE: undefined,
      RECONNECT_TARGETS: SERVICE_ID,
      MAX_DELIVERY_COUNT: '3',
      CHANGE_DEADLINE_SECONDS: '3',
      ARM_ATTEMPT_TIMEOUT_SECONDS: '2',
    },
  });
  sb = new ServiceBusClient(runtime.settings['ServiceBusConnection']!);
});
afterAll(async () => {
  await sb.close();
  await runtime.stop();
});

function events(): any[] {
  return runtime.broker!.messages(EVENTS).map((m) => m.body as any);
}

const eventFor = (requestId: string, status?: string) =>
  waitFor(`event ${requestId}`, () =>
    events().find((e) => e.data.requestId === requestId && (status === undefined || e.data.status === status)),
  );

const writes = (method: string, backendId: string) =>
  runtime.emulator!.requests.filter((r) => r.method === method && r.path.includes(`/backends/${backendId}`)).length;

async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${runtime.url}/api/backend-changes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('npm start runtime, end to end', () => {
  it('fingerprints its in-memory ledger under a throwaway key, never with the keyless scrypt fallback', () => {
    expect(runtime.azurite).toBeDefined();
    expect(runtime.settings['LEDGER_FINGERPRINT_KEY']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(runtime.services.fingerprints.legacy).toBe(false);
  });

  it('HTTP sync: the reference PUT example is applied, answered 201 and published', async () => {
    const e = example('ApiManagementCreateBackendProxyBackend.json');
    const res = await post({
      requestId: 'e2e-sync',
      operation: 'createOrUpdate',
      target: exampleTarget(e),
      body: e.parameters.parameters,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ requestId: 'e2e-sync', status: 'succeeded', created: true });
    expect(JSON.stringify(res.body)).not.toContain('opensesma');
    expect(writes('PUT', 'proxybackend')).toBe(1);
    const event = await eventFor('e2e-sync');
    expect(event).toMatchObject({
      type: 'com.apim-backend-changes.backend-change.succeeded',
      datacontenttype: 'application/json',
    });
    expect(JSON.stringify(event)).not.toContain('opensesma');
  });

  it('HTTP with Prefer: respond-async: 202, then the queue trigger applies it', async () => {
    const target = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'async-b' };
    const res = await post(
      {
        requestId: 'e2e-async',
        operation: 'createOrUpdate',
        target,
        body: { properties: { url: 'https://a/', protocol: 'http' } },
      },
      { prefer: 'respond-async' },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/api/backend-changes/e2e-async');
    const event = await eventFor('e2e-async');
    expect(event.data).toMatchObject({ status: 'succeeded', httpStatus: 201 });
    expect(writes('PUT', 'async-b')).toBe(1);
  });

  it('queue messages with and without requestId; a poison message is rejected, not retried', async () => {
    const sender = sb.createSender('backend-change-requests');
    const target = `${SERVICE_ID}/backends/queued`;
    await sender.sendMessages([
      {
        messageId: 'q-with-id-msg',
        body: {
          requestId: 'q-with-id',
          operation: 'createOrUpdate',
          target,
          body: { properties: { url: 'https://q/', protocol: 'http' } },
        },
        correlationId: 'c-1',
      },
      { messageId: 'q-poison', body: 'definitely not a change request' },
    ]);
    // The update needs the backend the first message creates: without sessions, a queue gives no ordering.
    expect((await eventFor('q-with-id')).data.status).toBe('succeeded');
    await sender.sendMessages([
      {
        messageId: 'q-no-id',
        body: { operation: 'update', target, body: { properties: { description: 'from the queue' } } },
      },
    ]);
    await sender.close();
    expect((await eventFor('q-with-id')).data.status).toBe('succeeded');
    expect((await eventFor('q-no-id')).data).toMatchObject({ status: 'succeeded', operation: 'update' });
    expect((await eventFor('q-poison')).data).toMatchObject({ status: 'rejected', error: { code: 'ValidationError' } });
    await waitFor('queue drained', () =>
      runtime.broker!.messages('backend-change-requests').length === 0 ? true : undefined,
    );
    expect(runtime.broker!.deadLetters('backend-change-requests')).toHaveLength(0);
  });

  it('a transient ARM failure is redelivered by Service Bus and then succeeds', async () => {
    runtime.emulator!.injectFault({ method: 'PUT', path: '/backends/flaky', status: 503, retryAfter: '5', count: 1 });
    const sender = sb.createSender('backend-change-requests');
    await sender.sendMessages({
      messageId: 'q-flaky',
      body: {
        operation: 'createOrUpdate',
        target: `${SERVICE_ID}/backends/flaky`,
        body: { properties: { url: 'https://f/', protocol: 'http' } },
      },
    });
    await sender.close();
    const event = await eventFor('q-flaky');
    expect(event.data).toMatchObject({ status: 'succeeded', httpStatus: 201 });
    expect(events().filter((e) => e.data.requestId === 'q-flaky')).toHaveLength(1);
    expect(writes('PUT', 'flaky')).toBe(2);
  });

  it('ARM throttling mid-request is ridden out (Retry-After honoured) and reported', async () => {
    runtime.emulator!.injectFault({
      method: 'PUT',
      path: '/backends/throttled',
      status: 429,
      retryAfter: '1',
      count: 1,
    });
    const res = await post({
      requestId: 'e2e-429',
      operation: 'createOrUpdate',
      target: `${SERVICE_ID}/backends/throttled`,
      body: { properties: { url: 'https://t/', protocol: 'http' } },
    });
    expect(res.status).toBe(201);
    expect(res.body.attempts).toBe(2);
    const logged = runtime.emulator!.requests.filter(
      (r) => r.path.endsWith('/backends/throttled') && r.method === 'PUT',
    );
    expect(logged.map((r) => r.status)).toEqual([429, 201]);
    expect(logged[1]!.time - logged[0]!.time).toBeGreaterThanOrEqual(950);
    expect((await eventFor('e2e-429')).data.attempts).toBe(2);
  });

  it('the timer, run through the admin API, reconnects every backend of the service', async () => {
    const before = events().length;
    const res = await fetch(`${runtime.url}/admin/functions/scheduledReconnect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': runtime.masterKey },
      body: '{"input":""}',
    });
    expect(res.status).toBe(202);
    // The admin API answers at once and runs the function in the background, as the host does.
    await waitFor('the service listed', () =>
      runtime.emulator!.requests.some((r) => r.method === 'GET' && /\/service\/apimService1\/backends$/.test(r.path))
        ? true
        : undefined,
    );
    const backends = [
      ...new Set(
        runtime
          .emulator!.requests.filter((r) => r.method === 'PUT' && r.status < 300)
          .map((r) => r.path.split('/backends/')[1]),
      ),
    ];
    const reconnects = await waitFor('reconnect events', () => {
      const found = events()
        .slice(before)
        .filter((e) => e.data.operation === 'reconnect' && e.data.status === 'succeeded');
      return found.length >= backends.length ? found : undefined;
    });
    expect(reconnects.map((e) => e.subject.split('/backends/')[1]).sort()).toEqual(backends.sort());
    for (const name of backends) {
      expect(
        runtime.emulator!.requests.some((r) => r.method === 'POST' && r.path.endsWith(`/backends/${name}/reconnect`)),
      ).toBe(true);
    }
  });

  it('unknown routes answer 404 and the admin API refuses HTTP functions', async () => {
    expect((await fetch(`${runtime.url}/api/nope`)).status).toBe(404);
    const admin = (name: string) =>
      fetch(`${runtime.url}/admin/functions/${name}`, {
        method: 'POST',
        headers: { 'x-functions-key': runtime.masterKey },
        body: '{}',
      });
    expect((await admin('backendChanges')).status).toBe(404);
  });
});
