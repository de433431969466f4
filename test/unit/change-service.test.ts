import { changeSettings } from '../../functions/composition-root';
import { createMemoryBreakerStore } from '../../shared/adapters/breaker-store/memory-breaker-store';
import { createChangeService } from '../../shared/app/change-service';
import { silentLogger } from '../../shared/app/logger-ports';
import type { ChangeServiceSettings } from '../../shared/app/service-context';
import { noTelemetry } from '../../shared/app/telemetry-ports';
import { loadConfig } from '../../shared/config/settings';
import { createFingerprinter } from '../../shared/domain/fingerprint';
import { keepingPublisher, keepingQueue, manualClock, memoryArm, memoryLedger } from '../support/memory-ports';

const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim1';
const OTHER =
  '/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apim2';
const backend = (name: string, service = SERVICE) => `${service}/backends/${name}`;
const body = { properties: { url: 'https://example.org/api', protocol: 'http' } };
const change = (requestId: string, name = 'b1', extra: Record<string, unknown> = {}) => ({
  requestId,
  operation: 'createOrUpdate',
  target: backend(name),
  body,
  ...extra,
});

function setup(overrides: Partial<ChangeServiceSettings> = {}, withLedger = true, env: Record<string, string> = {}) {
  const config = loadConfig({
    ALLOWED_SCOPES: SERVICE,
    RECONNECT_TARGETS: `${SERVICE},${OTHER},${SERVICE}/workspaces/w1`,
    LEDGER_FINGERPRINT_KEY: 'unit-test-fingerprint-key-0123456789abcdef',
    ...env,
  });
  const settings: ChangeServiceSettings = {
    ...changeSettings(config),
    queue: { configured: true, sessions: false, maxDeliveryCount: 3 },
    ...overrides,
  };
  const arm = memoryArm();
  const ledger = withLedger ? memoryLedger() : undefined;
  const queue = keepingQueue();
  const publisher = keepingPublisher();
  const clock = manualClock();
  const service = createChangeService(
    {
      arm: arm.client,
      clock,
      ledger,
      publisher: publisher.port,
      queue: queue.port,
      telemetry: noTelemetry,
      fingerprints: createFingerprinter(config.ledger.fingerprintKeys),
      breakerStore: createMemoryBreakerStore(),
      breakerPublisher: { publish: async () => undefined },
    },
    settings,
  );
  return { service, arm, ledger, queue, publisher, clock };
}

const submit = (raw: unknown, fallbackRequestId = 'fallback-1') => ({
  raw,
  fallbackRequestId,
  correlationId: 'corr-1',
});

describe('change service: apply (synchronous HTTP)', () => {
  it('applies a change once, records and publishes it; a repeat is answered from the ledger without a second write', async () => {
    const { service, arm, ledger, publisher } = setup();
    const first = await service.apply(submit(change('r1')), silentLogger);
    expect(first).toMatchObject({ kind: 'outcome', duplicate: false, outcome: { status: 'succeeded', created: true } });
    const again = await service.apply(submit(change('r1')), silentLogger);
    expect(again).toMatchObject({ kind: 'outcome', duplicate: true, outcome: { status: 'succeeded', created: true } });
    expect(arm.writes).toHaveLength(1);
    expect(publisher.published.map((o) => o.requestId)).toEqual(['r1']);
    expect(await ledger!.get('r1')).toMatchObject({ state: 'succeeded', published: true, deliveries: 1 });
  });

  it('refuses a requestId reused for a different change (409 RequestIdConflict), writing nothing', async () => {
    const { service, arm } = setup();
    await service.apply(submit(change('r2')), silentLogger);
    const reused = await service.apply(submit(change('r2', 'b2')), silentLogger);
    expect(reused).toMatchObject({
      kind: 'outcome',
      outcome: { status: 'rejected', error: { code: 'RequestIdConflict' } },
    });
    expect(arm.writes).toHaveLength(1);
  });

  it('answers an invalid request with the field at fault, without calling ARM', async () => {
    const { service, arm } = setup();
    const answer = await service.apply(
      submit({ requestId: 'r3', operation: 'createOrUpdate', target: backend('b1') }),
      silentLogger,
    );
    expect(answer).toMatchObject({
      kind: 'outcome',
      outcome: { status: 'rejected', error: { code: 'ValidationError' } },
    });
    expect(arm.writes).toHaveLength(0);
  });

  it('hands a change still throttled at the end of the HTTP budget to the queue, with ARM advice as Retry-After', async () => {
    const { service, arm, ledger, queue } = setup();
    arm.throttle(true);
    const answer = await service.apply(submit(change('r4')), silentLogger);
    expect(answer).toEqual({ kind: 'accepted', requestId: 'r4', set: false, retryAfterMs: 7000 });
    expect(queue.sent.map((m) => m.messageId)).toEqual(['r4']);
    // Released, so the queue's delivery can claim it at once.
    expect(await ledger!.get('r4')).toMatchObject({ state: 'received' });
  });

  it('without a queue, answers the transient outcome itself (the caller may retry the same requestId)', async () => {
    const { service, arm, queue } = setup({ queue: { configured: false, sessions: false, maxDeliveryCount: 3 } });
    arm.throttle(true);
    const answer = await service.apply(submit(change('r5')), silentLogger);
    expect(answer).toMatchObject({ kind: 'outcome', outcome: { status: 'failed', error: { code: 'Throttled' } } });
    expect(queue.sent).toHaveLength(0);
  });
});

describe('change service: accept (Prefer: respond-async) and deliver (the queue)', () => {
  it('queues a valid change, registers it as received with no delivery counted, and the delivery applies it once', async () => {
    const { service, arm, ledger, queue } = setup();
    const answer = await service.accept(submit(change('a1')), silentLogger);
    expect(answer).toEqual({ kind: 'accepted', requestId: 'a1', set: false });
    expect(arm.writes).toHaveLength(0);
    expect(await ledger!.get('a1')).toMatchObject({ state: 'received', deliveries: 0, origin: 'queue' });
    expect((await service.status('a1')).kind).toBe('found');

    const [message] = queue.sent;
    expect(message).toMatchObject({ messageId: 'a1', correlationId: 'corr-1' });
    const delivered = await service.deliver(
      { body: message!.body, fallbackRequestId: 'a1', deliveryCount: 1 },
      silentLogger,
    );
    expect(delivered).toEqual({ kind: 'settled' });
    expect(arm.writes).toHaveLength(1);
    expect(await ledger!.get('a1')).toMatchObject({ state: 'succeeded', deliveries: 1, published: true });
  });

  it('answers synchronously what cannot be accepted: an invalid request, and one already decided', async () => {
    const { service, queue } = setup();
    const invalid = await service.accept(submit({ requestId: 'a2', operation: 'nope' }), silentLogger);
    expect(invalid).toMatchObject({ kind: 'outcome', outcome: { status: 'rejected' } });
    await service.apply(submit(change('a3')), silentLogger);
    const decided = await service.accept(submit(change('a3')), silentLogger);
    expect(decided).toMatchObject({ kind: 'outcome', duplicate: true, outcome: { status: 'succeeded' } });
    expect(queue.sent).toHaveLength(0);
  });

  it('answers queueUnavailable when the queue refuses, and records nothing', async () => {
    const { service, ledger, queue } = setup();
    queue.down(true);
    expect(await service.accept(submit(change('a4')), silentLogger)).toEqual({ kind: 'queueUnavailable' });
    expect(await ledger!.get('a4')).toBeUndefined();
  });

  it('answers queueUnavailable for a change set too when the queue refuses, and records nothing', async () => {
    const { service, ledger, queue } = setup();
    queue.down(true);
    const set = { requestId: 's4', changes: [change('x', 'b1'), change('y', 'b2')].map(({ requestId: _, ...c }) => c) };
    expect(await service.accept(submit(set), silentLogger)).toEqual({ kind: 'queueUnavailable' });
    expect(await ledger!.get('s4')).toBeUndefined();
  });

  it('asks for a redelivery of a transient failure while deliveries are left, and publishes failed on the last', async () => {
    const { service, arm, publisher } = setup();
    arm.throttle(true);
    const message = { body: change('q1'), fallbackRequestId: 'q1' };
    const early = await service.deliver({ ...message, deliveryCount: 1 }, silentLogger);
    expect(early).toMatchObject({ kind: 'redeliver', reason: expect.stringContaining('Throttled') });
    expect(publisher.published).toHaveLength(0);
    const last = await service.deliver({ ...message, deliveryCount: 3 }, silentLogger);
    expect(last).toEqual({ kind: 'settled' });
    expect(publisher.published).toMatchObject([{ requestId: 'q1', status: 'failed', error: { code: 'Throttled' } }]);
  });
});

describe('change service: status', () => {
  it('tells an invalid requestId, an unknown one, and a service without a ledger apart', async () => {
    const { service } = setup();
    expect(await service.status('not valid!')).toEqual({ kind: 'invalidRequestId' });
    expect(await service.status('never-sent')).toEqual({ kind: 'notFound', requestId: 'never-sent' });
    expect(await setup({}, false).service.status('any')).toEqual({ kind: 'ledgerDisabled' });
  });

  it('shows the recorded outcome, never the fingerprint', async () => {
    const { service } = setup();
    await service.apply(submit(change('s1')), silentLogger);
    const status = await service.status('s1');
    expect(status).toMatchObject({ kind: 'found', body: { state: 'succeeded', outcome: { status: 'succeeded' } } });
    expect(JSON.stringify(status)).not.toContain('fingerprint');
  });

  it('answers a final record that holds no outcome with its recorded state, not a made-up refusal', async () => {
    const { service, ledger } = setup();
    await service.apply(submit(change('s2')), silentLogger);
    const record = ledger!.records.get('s2')!;
    const { outcome: _dropped, ...withoutOutcome } = record;
    ledger!.records.set('s2', withoutOutcome);
    const answer = await service.apply(submit(change('s2')), silentLogger);
    expect(answer).toMatchObject({
      kind: 'outcome',
      duplicate: true,
      outcome: { requestId: 's2', status: 'succeeded' },
    });
    expect(answer.kind === 'outcome' && answer.outcome.error).toBeUndefined();
  });
});

describe('change service: scheduled reconnect', () => {
  it('queues one reconnect per backend of an allowed service, refusing workspaces and services out of scope', async () => {
    const { service, arm, queue } = setup();
    await service.apply(submit(change('seed-1', 'b1')), silentLogger);
    await service.apply(submit(change('seed-2', 'b2')), silentLogger);
    const at = new Date('2026-11-29T05:00:00Z');
    const run = await service.fanOutReconnect(at, silentLogger);
    expect(run.enqueued).toBe(2);
    expect(run.failures).toEqual([
      expect.stringContaining('outside ALLOWED_SCOPES'),
      expect.stringContaining('workspace backends cannot be reconnected'),
    ]);
    expect(queue.sent.map((m) => (m.body as { operation: string }).operation)).toEqual(['reconnect', 'reconnect']);
    // A re-fired timer for the same occurrence yields the same requestIds: the copies are dropped downstream.
    await service.fanOutReconnect(at, silentLogger);
    expect(queue.sent.slice(2).map((m) => m.messageId)).toEqual(queue.sent.slice(0, 2).map((m) => m.messageId));
    expect(arm.writes.filter((w) => w.method === 'POST')).toHaveLength(0);
  });
});

describe('change service: sweep', () => {
  it('finalises an HTTP change whose process died before writing, republishes, and purges records past retention', async () => {
    const { service, ledger, publisher, clock } = setup();
    // An HTTP delivery that claimed and then died: no intent recorded, so nothing reached ARM.
    await ledger!.claim({
      requestId: 'dead-1',
      fingerprint: 'f',
      leaseMs: 1000,
      now: new Date(clock.now()),
      origin: 'http',
      operation: 'update',
      target: backend('b9'),
    });
    clock.advance(5000);
    const swept = await service.sweep(silentLogger);
    expect(swept).toMatchObject({ kind: 'swept', finalised: 1, deleted: 0 });
    expect(publisher.published).toMatchObject([
      { requestId: 'dead-1', status: 'failed', error: { code: 'NotApplied' } },
    ]);
    expect(await ledger!.get('dead-1')).toMatchObject({ state: 'failed', published: true });

    clock.advance(31 * 86_400_000);
    expect(await service.sweep(silentLogger)).toMatchObject({ kind: 'swept', deleted: 1 });
    expect(await ledger!.get('dead-1')).toBeUndefined();
  });

  it('does nothing without a ledger', async () => {
    expect(await setup({}, false).service.sweep(silentLogger)).toEqual({ kind: 'noLedger' });
  });
});

describe('change service: dead-lettered messages', () => {
  it('reads a message at ARM_API_VERSION, as its first delivery did: the failed event names its operation and target', async () => {
    const { service, publisher } = setup({}, true, { ARM_API_VERSION: '2025-03-01-preview' });
    // azureRegion exists from 2025-03-01-preview on: at the default 2024-05-01 this body is invalid.
    const body = { properties: { url: 'https://example.org/api', protocol: 'http', azureRegion: 'westeurope' } };
    const message = {
      body: change('d1', 'b1', { body }),
      messageId: 'd1',
      reason: 'MaxDeliveryCountExceeded',
      description: undefined,
    };
    expect(await service.settleDeadLettered(message, silentLogger)).toEqual({ kind: 'settled' });
    expect(publisher.published).toMatchObject([
      {
        requestId: 'd1',
        status: 'failed',
        operation: 'createOrUpdate',
        target: backend('b1'),
        error: { code: 'DeadLettered' },
      },
    ]);
  });
});
