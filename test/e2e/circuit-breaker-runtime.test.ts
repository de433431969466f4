/**
 * `npm start` runs every circuit-breaker intake: the Event Grid trigger (the host's Event Grid endpoint and the admin
 * API), the webhook with both handshakes, the queue trigger fed by the real Service Bus client, and the history.
 */
import { ServiceBusClient } from '@azure/service-bus';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoBackends } from '../../local/demo-backends';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/runtime';
import { SERVICE_ID } from '../support/stack';

const POOL = `${SERVICE_ID}/backends/openai-pool`;
const sample = readFileSync(
  join(__dirname, '..', 'fixtures', 'events', 'circuit-breaker-opened.eventgrid.json'),
  'utf8',
);
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime({
    port: 0,
    log: () => undefined,
    emulator: { seed: demoBackends() },
    settings: {
      ARM_ENDPOINT: undefined,
      ServiceBusConnection: undefined,
      AzureWebJobsStorage: undefined,
      CIRCUIT_BREAKER_ACTION: 'drain',
      CIRCUIT_BREAKER_QUEUE: 'apim-breaker-events',
      CHANGE_DEADLINE_SECONDS: '5',
    },
  });
}, 60_000);
afterAll(() => runtime.stop());

const priorityOf = (name: string): number =>
  (runtime.emulator!.getBackend(POOL)!.properties as any).pool.services.find((m: any) =>
    m.id.endsWith(`/backends/${name}`),
  ).priority;

async function waitFor(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(probe()).toBe(true);
}

it('the Event Grid endpoint answers the validation handshake and runs the trigger per event', async () => {
  const validation = await fetch(`${runtime.url}/runtime/webhooks/eventgrid?functionName=circuitBreakerEvents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation' },
    body: JSON.stringify([
      {
        id: 'v',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: '2026-01-01T00:00:00Z',
        data: { validationCode: 'code-1' },
      },
    ]),
  });
  expect(await validation.json()).toEqual({ validationResponse: 'code-1' });

  const delivered = await fetch(`${runtime.url}/runtime/webhooks/eventgrid?functionName=circuitBreakerEvents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
    body: sample,
  });
  expect(delivered.status).toBe(202);
  expect(priorityOf('openai1')).toBe(3);
});

it('the webhook, the admin API and the queue trigger share the handler (a redelivery writes nothing)', async () => {
  const options = await fetch(`${runtime.url}/api/circuit-breaker-events`, {
    method: 'OPTIONS',
    headers: { 'WebHook-Request-Origin': 'eventgrid.azure.net' },
  });
  expect(options.headers.get('webhook-allowed-origin')).toBe('eventgrid.azure.net');

  const again = await fetch(`${runtime.url}/api/circuit-breaker-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: sample,
  });
  expect(((await again.json()) as any).events[0]).toMatchObject({ duplicate: true });

  const closed = JSON.parse(sample)[0];
  Object.assign(closed, {
    id: 'closed-1',
    eventType: 'Microsoft.ApiManagement.CircuitBreaker.Closed',
    eventTime: '2025-04-02T00:50:00Z',
  });
  const sb = new ServiceBusClient(runtime.settings['ServiceBusConnection']!);
  const sender = sb.createSender('apim-breaker-events');
  await sender.sendMessages({ body: closed, contentType: 'application/json' });
  await sender.close();
  await sb.close();
  await waitFor(() => priorityOf('openai1') === 1);

  const admin = await fetch(`${runtime.url}/admin/functions/circuitBreakerEvents`, {
    method: 'POST',
    headers: { 'x-functions-key': runtime.masterKey },
    body: JSON.stringify({
      input: JSON.stringify({
        ...closed,
        id: 'opened-2',
        eventType: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
        eventTime: '2025-04-02T01:00:00Z',
      }),
    }),
  });
  expect(admin.status).toBe(202);
  expect(priorityOf('openai1')).toBe(3);
  const patches = runtime.emulator!.requests.filter((r) => r.method === 'PATCH' && r.status === 200);
  expect(patches).toHaveLength(3);

  const history = await fetch(
    `${runtime.url}/api/circuit-breaker-events?backend=${encodeURIComponent(`${SERVICE_ID}/backends/openai1`)}`,
  );
  const body = (await history.json()) as any;
  expect(body.periods.map((p: any) => [p.state, p.duration])).toEqual([
    ['open', 'PT2M11.174S'],
    ['closed', 'PT10M'],
    ['open', undefined],
  ]);
});
