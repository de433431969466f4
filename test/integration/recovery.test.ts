/**
 * Crashes mid-change and what follows them (issue 10, items 1, 2 and 12): the real engine and ARM client over HTTPS
 * against the emulator, the ledger on Azurite. A "crash" is a delivery that dies after its write reached ARM and
 * before its outcome was recorded (the ledger's `complete` throws), or before its write was sent.
 */
import { randomUUID } from 'node:crypto';
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import type { Outcome } from '../../shared/domain/contract/outcome';
import { settleDeadLettered } from '../../shared/app/dead-letter';
import { applyChange } from '../../shared/app/apply-change';
import { finaliseStalledHttp } from '../../shared/app/finalise-stalled';
import { processChange, type Delivery, type ProcessDeps } from '../../shared/app/process-change';
import { createTargetQueue } from '../../shared/app/target-queue';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import { silentLogger } from '../../shared/app/logger-ports';
import { clientFor } from '../support/arm';
import { useAzurite } from '../support/azurite';
import { systemClock } from '../../shared/adapters/system-clock';
import type { ChangeLedger } from '../../shared/app/ledger-ports';
import { createTableLedger } from '../../shared/adapters/ledger/table-ledger';

const azurite = useAzurite();
const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';
const LEASE_MS = 1_500;

let emulator: ArmEmulator;
let arm: ArmBackendClient;
let ledger: ChangeLedger;
const published: Outcome[] = [];
const publisher = {
  publish: (outcome: Outcome) => Promise.resolve(void published.push(outcome)),
  publishChangeSet: () => Promise.resolve(),
};

beforeAll(async () => {
  emulator = await startArmEmulator();
  arm = clientFor(emulator, { deadlineMs: 10_000 });
  ledger = createTableLedger({
    connectionString: azurite().connectionString,
    tableName: `recovery${randomUUID().replace(/-/g, '').slice(0, 10)}`,
  });
});
afterAll(() => emulator.stop());

class Crash extends Error {}

/** The ledger of a process that dies after ARM answered and before the outcome is recorded. */
const crashingLedger = (): ChangeLedger =>
  new Proxy(ledger, {
    get: (target, key) =>
      key === 'complete' ? () => Promise.reject(new Crash('killed')) : Reflect.get(target, key, target),
  });

function deps(overrides: Partial<ProcessDeps> = {}): ProcessDeps {
  return {
    arm,
    clock: systemClock,
    logger: silentLogger,
    settings: { allowDelete: true, deadlineMs: 10_000, skipUnchanged: true },
    ledger,
    publisher,
    leaseMs: LEASE_MS,
    ...overrides,
  };
}

const http: Delivery = {
  fallbackRequestId: 'unused',
  origin: 'http',
  onTransient: 'answer',
  onPublishFailure: 'defer',
};
const queue: Delivery = { fallbackRequestId: 'unused', origin: 'queue', onTransient: 'redeliver' };

let n = 0;
function backend(seed?: Record<string, unknown>): { id: string; requestId: (tag: string) => string } {
  const id = `${SERVICE}/backends/rec-${++n}-${randomUUID().slice(0, 6)}`;
  if (seed !== undefined) emulator.putBackend(id, seed);
  return { id, requestId: (tag) => `rec-${n}-${tag}-${randomUUID().slice(0, 6)}` };
}

const update = (requestId: string, target: string, url: string) => ({
  requestId,
  operation: 'update',
  target,
  body: { properties: { url } },
});

/** Writes the emulator applied to `id` (2xx PUT/PATCH/DELETE). */
const writes = (id: string): number =>
  emulator.requests.filter(
    (r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method) && r.path === id && r.status >= 200 && r.status < 300,
  ).length;

/** An ARM client in a process that dies just before its PATCH is sent (after the read and the recorded intent). */
const dyingBeforeWrite = (): ArmBackendClient =>
  new Proxy(arm, {
    get: (target, key) =>
      key === 'update' ? () => Promise.reject(new Crash('killed before sending')) : Reflect.get(target, key, target),
  });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function outcomeOf(raw: unknown, delivery = queue, overrides: Partial<ProcessDeps> = {}): Promise<Outcome> {
  const result = await processChange(raw, delivery, deps(overrides));
  if (result.kind === 'busy') throw new Error('busy');
  return result.outcome;
}

describe('a crash mid-write, then a resend', () => {
  it('with a later change in between: Superseded, the later value stays, nothing is written again', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    const r1 = update(b.requestId('r1'), b.id, 'https://v1.example/');
    await expect(processChange(r1, queue, deps({ ledger: crashingLedger() }))).rejects.toThrow(Crash);
    expect(emulator.getBackend(b.id)!.properties['url']).toBe('https://v1.example/');

    const r2 = await outcomeOf(update(b.requestId('r2'), b.id, 'https://v2.example/'));
    expect(r2.status).toBe('succeeded');
    await pause(LEASE_MS + 100);
    const before = writes(b.id);

    const resent = await outcomeOf(r1);
    expect(resent).toMatchObject({ status: 'failed', error: { code: 'Superseded' } });
    expect(emulator.getBackend(b.id)!.properties['url']).toBe('https://v2.example/');
    expect(writes(b.id)).toBe(before);
    expect(await ledger.get(r1.requestId)).toMatchObject({ state: 'failed', published: true });
  }, 30_000);

  it('without one: succeeded, reported as the create it was, not written twice', async () => {
    const b = backend();
    const r1 = {
      requestId: b.requestId('c'),
      operation: 'createOrUpdate',
      target: b.id,
      body: { properties: { url: 'https://c.example/', protocol: 'http' } },
    };
    await expect(processChange(r1, queue, deps({ ledger: crashingLedger() }))).rejects.toThrow(Crash);
    await pause(LEASE_MS + 100);
    const resent = await outcomeOf(r1);
    expect(resent).toMatchObject({ status: 'succeeded', httpStatus: 201, created: true });
    expect(writes(b.id)).toBe(1);
  }, 30_000);

  it('that crashed before its write: the resend writes on the recorded ETag', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    const r1 = update(b.requestId('r1'), b.id, 'https://v1.example/');
    const dying = dyingBeforeWrite();
    await expect(processChange(r1, queue, deps({ arm: dying }))).rejects.toThrow(Crash);
    const record = await ledger.get(r1.requestId);
    expect(record?.intent?.etag).toBe(emulator.getBackend(b.id)!.etag);
    await pause(LEASE_MS + 100);
    const resent = await outcomeOf(r1);
    expect(resent).toMatchObject({ status: 'succeeded', httpStatus: 200 });
    expect(emulator.getBackend(b.id)!.properties['url']).toBe('https://v1.example/');
    const patches = emulator.requests.filter((r) => r.method === 'PATCH' && r.path === b.id);
    expect(patches.map((p) => p.ifMatch)).toEqual([record!.intent!.etag]);
  }, 30_000);

  it('a reconnect that may have been sent is not sent again', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    const r1 = { requestId: b.requestId('rc'), operation: 'reconnect', target: b.id };
    await expect(processChange(r1, queue, deps({ ledger: crashingLedger() }))).rejects.toThrow(Crash);
    await pause(LEASE_MS + 100);
    const resent = await outcomeOf(r1);
    expect(resent).toMatchObject({ status: 'failed', error: { code: 'OutcomeUnknown' } });
    expect(emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith(b.id))).toHaveLength(1);
  }, 30_000);

  it('a reconnect reset after sending: OutcomeUnknown at once, sent once', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    emulator.injectFault({ method: 'POST', path: b.id, reset: 'after' });
    const outcome = await outcomeOf({ requestId: b.requestId('rr'), operation: 'reconnect', target: b.id });
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'OutcomeUnknown' } });
    expect(emulator.requests.filter((r) => r.method === 'POST' && r.path.startsWith(b.id))).toHaveLength(1);
  }, 30_000);
});

describe('no record stays non-final', () => {
  it('ledgerCleanup finalises stalled HTTP records from ARM: succeeded, Superseded, NotApplied, each published', async () => {
    const landed = backend({ url: 'https://v0.example/', protocol: 'http' });
    const overtaken = backend({ url: 'https://v0.example/', protocol: 'http' });
    const notSent = backend({ url: 'https://v0.example/', protocol: 'http' });
    const a = update(landed.requestId('a'), landed.id, 'https://a.example/');
    const b = update(overtaken.requestId('b'), overtaken.id, 'https://b.example/');
    const c = update(notSent.requestId('c'), notSent.id, 'https://c.example/');
    await expect(processChange(a, http, deps({ ledger: crashingLedger() }))).rejects.toThrow(Crash);
    await expect(processChange(b, http, deps({ ledger: crashingLedger() }))).rejects.toThrow(Crash);
    emulator.putBackend(overtaken.id, { url: 'https://later.example/', protocol: 'http' });
    const dying = dyingBeforeWrite();
    await expect(processChange(c, http, deps({ arm: dying }))).rejects.toThrow(Crash);

    const later = new Date(Date.now() + LEASE_MS + 100);
    const finalised = await finaliseStalledHttp(
      { ledger, arm, publisher, clock: systemClock, logger: silentLogger, readTimeoutMs: 5_000 },
      later,
    );
    expect(finalised).toBeGreaterThanOrEqual(3);
    expect(await ledger.get(a.requestId)).toMatchObject({ state: 'succeeded', published: true });
    expect(await ledger.get(b.requestId)).toMatchObject({
      state: 'failed',
      outcome: { error: { code: 'Superseded' } },
    });
    expect(await ledger.get(c.requestId)).toMatchObject({
      state: 'failed',
      outcome: { error: { code: 'NotApplied' } },
    });
    for (const id of [a.requestId, b.requestId, c.requestId]) {
      expect(published.filter((o) => o.requestId === id)).toHaveLength(1);
    }
    expect(emulator.getBackend(overtaken.id)!.properties['url']).toBe('https://later.example/');
  }, 30_000);

  it('GET after an HTTP transient failure shows the failure; a retry of the same requestId applies it', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    const r = update(b.requestId('t'), b.id, 'https://t.example/');
    emulator.injectFault({ method: 'PATCH', path: b.id, status: 503, count: Infinity });
    const short = deps({ settings: { allowDelete: true, deadlineMs: 1_500, skipUnchanged: true } });
    const failed = await processChange(r, http, short);
    expect(failed).toMatchObject({ kind: 'outcome', outcome: { status: 'failed' } });
    expect(await ledger.get(r.requestId)).toMatchObject({
      state: 'failed',
      outcome: { error: { code: 'UpstreamUnavailable' } },
    });
    emulator.clearFaults();
    const retried = await outcomeOf(r, http);
    expect(retried).toMatchObject({ status: 'succeeded', httpStatus: 200 });
    expect(await ledger.get(r.requestId)).toMatchObject({ state: 'succeeded' });
  }, 30_000);

  it('a dead-lettered message: its record closed as failed (DeadLettered, with the reason) and published', async () => {
    const b = backend({ url: 'https://v0.example/', protocol: 'http' });
    const r = update(b.requestId('dl'), b.id, 'https://dl.example/');
    emulator.injectFault({ method: 'PATCH', path: b.id, status: 503, count: Infinity });
    const short = deps({ settings: { allowDelete: true, deadlineMs: 1_000, skipUnchanged: true } });
    expect(await processChange(r, queue, short)).toMatchObject({ kind: 'redeliver' });
    emulator.clearFaults();
    const result = await settleDeadLettered(
      { body: r, messageId: r.requestId, reason: 'MaxDeliveryCountExceeded', description: 'Too many deliveries' },
      { ledger, publisher, clock: systemClock, logger: silentLogger },
    );
    expect(result).toMatchObject({ kind: 'settled', outcome: { status: 'failed', error: { code: 'DeadLettered' } } });
    expect(await ledger.get(r.requestId)).toMatchObject({ state: 'failed', published: true });
    const event = published.find((o) => o.requestId === r.requestId && o.error?.code === 'DeadLettered');
    expect(event?.error?.message).toContain('MaxDeliveryCountExceeded');
  }, 30_000);
});

describe('concurrent changes of one backend (ARM latency 100 ms)', () => {
  it('50 concurrent PATCHes without ETag cost at most 2 ARM requests each, each applied once', async () => {
    const b = backend({ url: 'https://c.example/', protocol: 'http' });
    emulator.injectFault({ path: b.id, delayMs: 100, count: Infinity });
    const targetQueue = createTargetQueue();
    const started = emulator.requests.length;
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const parsed = parseChangeRequest({
          requestId: `conc-${n}-${i}`,
          operation: 'update',
          target: b.id,
          body: { properties: { credentials: { header: { [`x-h-${i}`]: [`v${i}`] } } } },
        });
        if (!parsed.ok) throw new Error('invalid');
        const settings = { allowDelete: true, deadlineMs: 60_000, skipUnchanged: true };
        return applyChange(parsed.request, { ...deps(), settings, targetQueue });
      }),
    );
    emulator.clearFaults();
    const requests = emulator.requests.slice(started).filter((r) => r.path === b.id);
    process.stdout.write(`\n50 concurrent PATCHes of one backend: ${requests.length} ARM requests\n`);
    expect(outcomes.every((o) => o.status === 'succeeded')).toBe(true);
    expect(requests.length).toBeLessThanOrEqual(100);
    const headers = (emulator.getBackend(b.id)!.properties as any).credentials.header;
    expect(Object.keys(headers)).toHaveLength(50);
    expect(writes(b.id)).toBe(50);
    expect(targetQueue.size()).toBe(0);
  }, 90_000);
});
