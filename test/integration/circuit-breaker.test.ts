/**
 * Circuit-breaker automation against the real ARM emulator (HTTPS), Azurite (the ledger) and the embedded broker
 * (the results topic), through both intakes.
 */
import { HttpRequest } from '@azure/functions';
import {
  circuitBreakerEventsHandler,
  circuitBreakerHistoryHandler,
  circuitBreakerQueueHandler,
  circuitBreakerWebhookHandler,
} from '../../functions/circuit-breaker-events';
import { functionRegistrations } from '../../functions/registrations';
import { loadTriggerSettings } from '../../shared/config/trigger-settings';
import {
  backendId,
  cloudEvent,
  eventOnTopic,
  gridEvent,
  memberOf,
  patches,
  seedPool,
  webhookPost,
  withBreaker,
} from '../support/breaker';
import { SERVICE_ID, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ CIRCUIT_BREAKER_ACTION: 'drain' });
}, 60_000);
afterAll(() => stack.stop());
beforeEach(() => stack.emulator.reset());

const webhook = (services = () => stack.services) => circuitBreakerWebhookHandler(services);
const post = (body: unknown, services?: () => any, contentType?: string) =>
  webhook(services)(webhookPost(body, contentType), stack.context('circuitBreakerWebhook'));
const breakerEvent = (eventId: string) => eventOnTopic(stack, (e) => e.data?.eventId === eventId);

describe('drain on Opened, restore on Closed', () => {
  it('moves the member below the others with exactly one PATCH, publishes result and breaker events', async () => {
    seedPool(stack, 'd-pool', [
      ['d1', 1],
      ['d2', 1],
      ['d3', 2],
    ]);
    const opened = gridEvent('Opened', 'd1', '2026-01-01T00:00:00Z');
    const res = await post([opened]);
    expect(res.status).toBe(200);
    expect(patches(stack)).toHaveLength(1);
    expect(patches(stack, 'd-pool')[0]!.ifMatch).toBeDefined();
    expect(memberOf(stack, 'd-pool', 'd1')).toEqual({ id: backendId('d1'), priority: 3, weight: 1 });
    expect(memberOf(stack, 'd-pool', 'd2')).toMatchObject({ priority: 1 });

    const event = await breakerEvent(opened['id'] as string);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'com.apim-backend-changes.circuit-breaker.opened',
      subject: backendId('d1'),
      data: {
        backend: backendId('d1'),
        rule: 'breakThrottling',
        tripDuration: 'PT1S',
        eventTime: '2026-01-01T00:00:00Z',
        pools: [backendId('d-pool')],
        action: { mode: 'drain', taken: 'drain', pools: [{ pool: backendId('d-pool'), result: 'drained' }] },
      },
    });
    const requestId = event.data.action.pools[0].requestId;
    const result = await eventOnTopic(stack, (e) => e.data?.requestId === requestId);
    expect(result).toMatchObject({
      type: 'com.apim-backend-changes.backend-change.succeeded',
      subject: backendId('d-pool'),
      data: { operation: 'update', status: 'succeeded' },
    });

    // The same event again (Event Grid redelivers): recorded already, nothing written.
    const again = await post([opened]);
    expect(again.status).toBe(200);
    expect(again.jsonBody.events[0]).toMatchObject({ duplicate: true, action: { taken: 'drain' } });
    expect(patches(stack)).toHaveLength(1);

    // Closed: the original priority and weight come back.
    const closed = await post([gridEvent('Closed', 'd1', '2026-01-01T00:05:00Z')]);
    expect(closed.jsonBody.events[0].action).toMatchObject({ taken: 'restore', pools: [{ result: 'restored' }] });
    expect(patches(stack)).toHaveLength(2);
    expect(memberOf(stack, 'd-pool', 'd1')).toEqual({ id: backendId('d1'), priority: 1, weight: 1 });

    // The history: one open period of five minutes, then closed.
    const history = await circuitBreakerHistoryHandler(() => stack.services)(
      new HttpRequest({
        method: 'GET',
        url: `http://localhost/api/circuit-breaker-events?backend=${encodeURIComponent(backendId('d1'))}`,
      }),
      stack.context('circuitBreakerHistory'),
    );
    expect(history.status).toBe(200);
    expect(history.jsonBody.periods).toEqual([
      expect.objectContaining({ state: 'open', duration: 'PT5M', durationMs: 300_000, actions: ['drain'] }),
      expect.objectContaining({ state: 'closed', from: '2026-01-01T00:05:00Z', actions: ['restore'] }),
    ]);
  });

  it('re-reads and re-decides when the pool changed between our read and our write (412)', async () => {
    seedPool(stack, 'r-pool', [
      ['r1', 1],
      ['r2', 1],
    ]);
    stack.emulator.injectFault({ method: 'PATCH', path: '/backends/r-pool', status: 412 });
    const res = await post([gridEvent('Opened', 'r1', '2026-01-01T00:00:00Z')]);
    expect(res.jsonBody.events[0].action).toMatchObject({ taken: 'drain', pools: [{ result: 'drained' }] });
    expect(patches(stack, 'r-pool').map((r) => r.status)).toEqual([412, 200]);
    expect(memberOf(stack, 'r-pool', 'r1')).toMatchObject({ priority: 2, weight: 1 });
  });

  it('leaves a member someone changed since the drain, and says so', async () => {
    seedPool(stack, 'h-pool', [
      ['h1', 1],
      ['h2', 1],
    ]);
    await post([gridEvent('Opened', 'h1', '2026-01-01T00:00:00Z')]);
    expect(memberOf(stack, 'h-pool', 'h1')).toMatchObject({ priority: 2 });
    // A human moves it again in between.
    stack.emulator.putBackend(backendId('h-pool'), {
      type: 'Pool',
      pool: {
        services: [
          { id: backendId('h1'), priority: 5, weight: 1 },
          { id: backendId('h2'), priority: 1, weight: 1 },
        ],
      },
    });
    const closed = gridEvent('Closed', 'h1', '2026-01-01T00:01:00Z');
    const res = await post([closed]);
    expect(res.jsonBody.events[0].action).toMatchObject({
      taken: 'none',
      pools: [{ pool: backendId('h-pool'), result: 'left', reason: 'ChangedSince' }],
    });
    expect(patches(stack)).toHaveLength(1);
    expect(memberOf(stack, 'h-pool', 'h1')).toMatchObject({ priority: 5 });
    expect((await breakerEvent(closed['id'] as string)).data.action.pools[0].result).toBe('left');
  });

  it('never drains the last member that is not drained', async () => {
    seedPool(stack, 'l-pool', [
      ['l1', 1],
      ['l2', 1],
    ]);
    await post([gridEvent('Opened', 'l1', '2026-01-01T00:00:00Z')]);
    const res = await post([gridEvent('Opened', 'l2', '2026-01-01T00:00:01Z')]);
    expect(res.jsonBody.events[0].action).toMatchObject({
      taken: 'none',
      pools: [{ result: 'skipped', reason: 'LastHealthyMember' }],
    });
    expect(patches(stack)).toHaveLength(1);
    expect(memberOf(stack, 'l-pool', 'l2')).toMatchObject({ priority: 1 });
  });

  it('only notifies once a backend flapped more than CIRCUIT_BREAKER_MAX_DRAINS times in the window', async () => {
    seedPool(stack, 'f-pool', [
      ['f1', 1],
      ['f2', 1],
    ]);
    const services = withBreaker(stack, { maxDrains: 2 });
    for (let i = 0; i < 2; i++) {
      await post([gridEvent('Opened', 'f1', `2026-01-01T00:0${2 * i}:00Z`)], services);
      await post([gridEvent('Closed', 'f1', `2026-01-01T00:0${2 * i + 1}:00Z`)], services);
    }
    expect(patches(stack)).toHaveLength(4);
    const third = await post([gridEvent('Opened', 'f1', '2026-01-01T00:05:00Z')], services);
    expect(third.jsonBody.events[0].action).toMatchObject({ taken: 'notify', reason: 'DrainLimit' });
    expect(patches(stack)).toHaveLength(4);
    expect(memberOf(stack, 'f-pool', 'f1')).toMatchObject({ priority: 1 });
  });

  it('records but does not act on a Closed that arrives before its Opened', async () => {
    seedPool(stack, 'o-pool', [
      ['o1', 1],
      ['o2', 1],
    ]);
    const closed = await post([gridEvent('Closed', 'o1', '2026-01-01T00:01:00Z')]);
    expect(closed.jsonBody.events[0].action).toMatchObject({ taken: 'none', reason: 'NothingToRestore' });
    const opened = await post([gridEvent('Opened', 'o1', '2026-01-01T00:00:00Z')]);
    expect(opened.jsonBody.events[0].action).toMatchObject({ taken: 'none', reason: 'Stale' });
    expect(patches(stack)).toHaveLength(0);
    expect(memberOf(stack, 'o-pool', 'o1')).toMatchObject({ priority: 1 });
  });

  it('plan publishes what drain would change and writes nothing', async () => {
    seedPool(stack, 'p-pool', [
      ['p1', 1],
      ['p2', 3],
    ]);
    const opened = gridEvent('Opened', 'p1', '2026-01-01T00:00:00Z');
    const res = await post([opened], withBreaker(stack, { action: 'plan' }));
    expect(res.jsonBody.events[0].action).toEqual({
      mode: 'plan',
      taken: 'plan',
      pools: [
        {
          pool: backendId('p-pool'),
          result: 'planned',
          changes: [{ path: 'properties.pool.services[0].priority', from: 1, to: 4 }],
        },
      ],
    });
    expect(patches(stack)).toHaveLength(0);
    expect((await breakerEvent(opened['id'] as string)).data.action.taken).toBe('plan');
  });

  it('notify (the default) records and republishes only', async () => {
    seedPool(stack, 'n-pool', [
      ['n1', 1],
      ['n2', 1],
    ]);
    const opened = gridEvent('Opened', 'n1', '2026-01-01T00:00:00Z');
    const res = await post([opened], withBreaker(stack, { action: 'notify' }));
    expect(res.jsonBody.events[0]).toMatchObject({ pools: [backendId('n-pool')], action: { taken: 'notify' } });
    expect(patches(stack)).toHaveLength(0);
    await breakerEvent(opened['id'] as string);
  });

  it('touches nothing outside ALLOWED_SCOPES, not even with a read', async () => {
    seedPool(stack, 's-pool', [
      ['s1', 1],
      ['s2', 1],
    ]);
    const services = withBreaker(stack, {}, { allowedScopes: [`${SERVICE_ID.replace('apimService1', 'other')}`] });
    const res = await post([gridEvent('Opened', 's1', '2026-01-01T00:00:00Z')], services);
    expect(res.jsonBody.events[0].action).toMatchObject({ taken: 'none', reason: 'ScopeNotAllowed' });
    expect(stack.emulator.requests).toHaveLength(0);
  });
});

describe('intakes, schemas and handshakes', () => {
  it('the Event Grid trigger takes either schema and the announcement spelling', async () => {
    seedPool(stack, 't-pool', [
      ['t1', 1],
      ['t2', 1],
    ]);
    const trigger = circuitBreakerEventsHandler(() => stack.services);
    const opened = cloudEvent(
      gridEvent('Opened', 't1', '2026-01-01T00:00:00Z', {
        type: 'Microsoft.ApiManagement.Gateway.CircuitBreakerOpened',
      }),
    );
    await trigger(opened, stack.context('circuitBreakerEvents'));
    expect(memberOf(stack, 't-pool', 't1')).toMatchObject({ priority: 2 });
    await trigger(gridEvent('Closed', 't1', '2026-01-01T00:01:00Z'), stack.context('circuitBreakerEvents'));
    expect(memberOf(stack, 't-pool', 't1')).toMatchObject({ priority: 1 });
    expect(patches(stack)).toHaveLength(2);
  });

  it('the queue trigger (CIRCUIT_BREAKER_QUEUE) takes events an Event Grid subscription put in a queue', async () => {
    seedPool(stack, 'q-pool', [
      ['q1', 1],
      ['q2', 1],
    ]);
    const queue = circuitBreakerQueueHandler(() => stack.services);
    const opened = gridEvent('Opened', 'q1', '2026-01-01T00:00:00Z');
    await queue(JSON.stringify(opened), stack.context('circuitBreakerQueue'));
    await queue(Buffer.from(JSON.stringify(opened)), stack.context('circuitBreakerQueue'));
    expect(patches(stack)).toHaveLength(1);
    expect(memberOf(stack, 'q-pool', 'q1')).toMatchObject({ priority: 2 });
    const names = (queueSetting: string | undefined) =>
      functionRegistrations(() => stack.services, loadTriggerSettings({ CIRCUIT_BREAKER_QUEUE: queueSetting })).map(
        (r) => r.name,
      );
    expect(names(undefined)).not.toContain('circuitBreakerQueue');
    expect(names('apim-breaker-events')).toContain('circuitBreakerQueue');
  });

  it('the webhook takes a single CloudEvent and a CloudEvents batch', async () => {
    seedPool(stack, 'w-pool', [
      ['w1', 1],
      ['w2', 1],
      ['w3', 1],
    ]);
    const single = await post(
      cloudEvent(gridEvent('Opened', 'w1', '2026-01-01T00:00:00Z')),
      undefined,
      'application/cloudevents+json; charset=utf-8',
    );
    expect(single.jsonBody.events[0].action.taken).toBe('drain');
    const batch = await post(
      [
        cloudEvent(gridEvent('Closed', 'w1', '2026-01-01T00:01:00Z')),
        cloudEvent(gridEvent('Opened', 'w2', '2026-01-01T00:01:00Z')),
      ],
      undefined,
      'application/cloudevents-batch+json',
    );
    expect(batch.jsonBody.events.map((e: any) => e.action.taken)).toEqual(['restore', 'drain']);
    expect(memberOf(stack, 'w-pool', 'w1')).toMatchObject({ priority: 1 });
    expect(memberOf(stack, 'w-pool', 'w2')).toMatchObject({ priority: 2 });
  });

  it('answers the Event Grid validation handshake', async () => {
    const res = await post([
      {
        id: 'v1',
        topic: SERVICE_ID,
        subject: '',
        data: { validationCode: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' },
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: '2026-01-01T00:00:00Z',
        dataVersion: '2',
      },
    ]);
    expect(res).toMatchObject({
      status: 200,
      jsonBody: { validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' },
    });
  });

  it('answers the CloudEvents OPTIONS abuse-protection handshake', async () => {
    const res = await webhook()(
      new HttpRequest({
        method: 'OPTIONS',
        url: 'http://localhost/api/circuit-breaker-events',
        headers: { 'webhook-request-origin': 'eventgrid.azure.net', 'webhook-request-rate': '120' },
      }),
      stack.context('circuitBreakerWebhook'),
    );
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({
      'webhook-allowed-origin': 'eventgrid.azure.net',
      'webhook-allowed-rate': '120',
    });
  });

  it('refuses a malformed event with a 400 naming the field, and never calls ARM', async () => {
    const bad = gridEvent('Opened', 'x1', '2026-01-01T00:00:00Z');
    bad['data'] = { circuitBreaker: { rules: { r: { tripDuration: 'soon' } } } };
    bad['subject'] = 'nonsense';
    const res = await post([gridEvent('Opened', 'x2', '2026-01-01T00:00:00Z'), bad]);
    expect(res.status).toBe(400);
    const targets = res.jsonBody.error.details.map((d: any) => d.target);
    expect(targets).toEqual(expect.arrayContaining(['[1].subject', '[1].data.backendName']));
    expect(stack.emulator.requests).toHaveLength(0);
    for (const body of ['{not json', '[]', '[1]', '{"type":"x"}']) {
      const r = await post(body);
      expect(r.status).toBe(400);
    }
    expect((await post('{}', undefined, 'text/plain')).status).toBe(415);
  });

  it('acknowledges other event types and ignores them', async () => {
    const res = await post([
      { ...gridEvent('Opened', 'i1', '2026-01-01T00:00:00Z'), eventType: 'Microsoft.ApiManagement.APICreated' },
    ]);
    expect(res).toMatchObject({ status: 200, jsonBody: { events: [], ignored: 1 } });
    expect(stack.emulator.requests).toHaveLength(0);
  });

  it('answers 400 for a history query without a backend id', async () => {
    const res = await circuitBreakerHistoryHandler(() => stack.services)(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/circuit-breaker-events?backend=nope' }),
      stack.context('circuitBreakerHistory'),
    );
    expect(res).toMatchObject({ status: 400, jsonBody: { error: { target: 'backend' } } });
  });
});
