import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import type { Outcome } from '../../shared/domain/contract/outcome';
import { useAzurite } from '../support/azurite';
import { canonicalJson, fingerprintRequest } from '../../shared/domain/fingerprint';
import { ledgerPartitionKey, LEDGER_ROW_KEY } from '../../shared/adapters/ledger/ledger-entity';
import { LedgerConflictError } from '../../shared/domain/ledger-state';
import type { ChangeLedger, LedgerRecord } from '../../shared/app/ledger-ports';
import { createTableLedger } from '../../shared/adapters/ledger/table-ledger';

const azurite = useAzurite();

const SUB = '00000000-0000-0000-0000-000000000001';
const TARGET = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'orders' };
const TARGET_ID = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/backends/orders`;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const LEASE = 60_000;

const at = (ms: number): Date => new Date(T0.getTime() + ms);
const newId = (): string => `req-${randomUUID()}`;

let ledger: ChangeLedger;
let tableName: string;

function rawTable(name = tableName): TableClient {
  return TableClient.fromConnectionString(azurite().connectionString, name, { allowInsecureConnection: true });
}

function outcomeFor(requestId: string, overrides: Partial<Outcome> = {}): Outcome {
  return {
    requestId,
    operation: 'createOrUpdate',
    target: TARGET_ID,
    status: 'succeeded',
    httpStatus: 200,
    etag: '"etag-after"',
    attempts: 2,
    durationMs: 42,
    backend: { id: TARGET_ID, properties: { url: 'https://orders.example.com', protocol: 'http' } },
    ...overrides,
  };
}

async function claimNew(requestId: string, now = T0): Promise<LedgerRecord> {
  const result = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now });
  if (result.kind !== 'claimed') throw new Error(`expected claimed, got ${result.kind}`);
  return result.record;
}

beforeAll(() => {
  tableName = `ledger${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  ledger = createTableLedger({ connectionString: azurite().connectionString, tableName });
});

describe('claim', () => {
  it('claims a new request: applying, one delivery, leased', async () => {
    const requestId = newId();
    const result = await ledger.claim({
      requestId,
      fingerprint: 'fp-1',
      operation: 'update',
      target: TARGET_ID,
      leaseMs: LEASE,
      now: T0,
    });

    expect(result.kind).toBe('claimed');
    expect(result.record).toMatchObject({
      requestId,
      state: 'applying',
      operation: 'update',
      target: TARGET_ID,
      deliveries: 1,
      attempts: 0,
      published: false,
      leaseUntil: at(LEASE).toISOString(),
    });
    expect(await ledger.get(requestId)).toEqual(result.record);
  });

  it('answers a duplicate after completion with the stored outcome', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const outcome = outcomeFor(requestId);
    await ledger.complete(claimed, outcome, { etagBefore: '"etag-before"', now: at(1000) });

    const again = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(2000) });

    expect(again.kind).toBe('done');
    expect(again.record.outcome).toEqual(outcome);
    expect(again.record).toMatchObject({
      state: 'succeeded',
      attempts: 2,
      deliveries: 1,
      etagBefore: '"etag-before"',
      etagAfter: '"etag-after"',
      published: false,
    });
    expect(again.record.leaseUntil).toBeUndefined();
  });

  it.each(['failed', 'rejected'] as const)('treats %s as terminal', async (status) => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    await ledger.complete(claimed, outcomeFor(requestId, { status, error: { code: 'X', message: 'no' } }), {
      now: at(1),
    });

    const again = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(LEASE * 10) });

    expect(again).toMatchObject({ kind: 'done', record: { state: status } });
  });

  it('reports a conflict for the same requestId with a different request, and changes nothing', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);

    const live = await ledger.claim({ requestId, fingerprint: 'fp-2', leaseMs: LEASE, now: at(1) });
    await ledger.complete(claimed, outcomeFor(requestId), { now: at(2) });
    const done = await ledger.claim({ requestId, fingerprint: 'fp-2', leaseMs: LEASE, now: at(3) });

    expect(live.kind).toBe('conflict');
    expect(done.kind).toBe('conflict');
    expect(done.record.fingerprint).toBe('fp-1');
    expect((await ledger.get(requestId))?.deliveries).toBe(1);
  });

  it('gives exactly one of 10 concurrent claims of a new request; the others are busy', async () => {
    const requestId = newId();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: T0 })),
    );

    const kinds = results.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'claimed')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'busy')).toHaveLength(9);
    expect((await ledger.get(requestId))?.deliveries).toBe(1);
  });

  it('answers busy while another delivery holds a live lease', async () => {
    const requestId = newId();
    await claimNew(requestId);

    const second = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(LEASE - 1) });

    expect(second.kind).toBe('busy');
  });

  it('lets a redelivery take over when the lease expired (the first delivery crashed)', async () => {
    const requestId = newId();
    await claimNew(requestId);

    const second = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(LEASE) });

    expect(second.kind).toBe('claimed');
    expect(second.record).toMatchObject({ state: 'applying', deliveries: 2, leaseUntil: at(2 * LEASE).toISOString() });
  });

  it('gives an expired lease to exactly one of several concurrent claims', async () => {
    const requestId = newId();
    await claimNew(requestId);

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(LEASE + 1) }),
      ),
    );

    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'busy')).toHaveLength(4);
    expect((await ledger.get(requestId))?.deliveries).toBe(2);
  });

  it('keys requestIds with characters Table keys forbid without collisions', async () => {
    const odd = `a/b#c?d'e\\f-${randomUUID()}`;
    const lookalike = ledgerPartitionKey(odd); // what a naive encoding could produce for another id

    await claimNew(odd);
    const other = await ledger.claim({ requestId: lookalike, fingerprint: 'fp-x', leaseMs: LEASE, now: T0 });

    expect(other.kind).toBe('claimed');
    expect((await ledger.get(odd))?.requestId).toBe(odd);
    expect((await ledger.get(lookalike))?.fingerprint).toBe('fp-x');
  });
});

describe('register (a request accepted for a later delivery)', () => {
  const register = (requestId: string, now: Date, fingerprint = 'fp-1') =>
    ledger.register({ requestId, fingerprint, now, origin: 'queue', operation: 'update', target: TARGET_ID });

  it('records a new request as received with no delivery counted; its delivery then claims it as the first', async () => {
    const requestId = newId();
    const registered = await register(requestId, T0);
    expect(registered).toMatchObject({ kind: 'registered', record: { state: 'received', deliveries: 0 } });
    expect(registered.record.leaseUntil).toBeUndefined();
    const claimed = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(1) });
    expect(claimed).toMatchObject({ kind: 'claimed', record: { state: 'applying', deliveries: 1, origin: 'queue' } });
    // A stalled-record sweep never takes a received record for a dead HTTP delivery.
    expect(await ledger.stalled('http', at(LEASE * 10), 10)).not.toContainEqual(expect.objectContaining({ requestId }));
  });

  it('leaves a record alone that a delivery holds, has finished, or that belongs to another request', async () => {
    const held = newId();
    await claimNew(held);
    expect((await register(held, at(1))).kind).toBe('busy');
    const record = await claimNew(newId());
    await ledger.complete(record, outcomeFor(record.requestId), { now: at(1) });
    expect((await register(record.requestId, at(2))).kind).toBe('done');
    expect((await register(record.requestId, at(3), 'fp-other')).kind).toBe('conflict');
    expect(await ledger.get(held)).toMatchObject({ state: 'applying', deliveries: 1 });
  });

  it('takes back a record whose delivery stopped (lease run out) as received, counting no delivery', async () => {
    const requestId = newId();
    await claimNew(requestId);
    const again = await register(requestId, at(LEASE + 1));
    expect(again).toMatchObject({ kind: 'registered', record: { state: 'received', deliveries: 1 } });
    expect(again.record.leaseUntil).toBeUndefined();
    // Registering twice changes nothing.
    expect((await register(requestId, at(LEASE + 2))).record.version).toBe(again.record.version);
  });
});

describe('complete, release and markPublished', () => {
  it('refuses to complete with a stale version (another delivery took over)', async () => {
    const requestId = newId();
    const first = await claimNew(requestId);
    const second = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(LEASE + 1) });
    if (second.kind !== 'claimed') throw new Error('expected the takeover to succeed');

    await expect(ledger.complete(first, outcomeFor(requestId), { now: at(LEASE + 2) })).rejects.toBeInstanceOf(
      LedgerConflictError,
    );
    const completed = await ledger.complete(second.record, outcomeFor(requestId), { now: at(LEASE + 3) });
    expect(completed.state).toBe('succeeded');
  });

  it('never overwrites a terminal record', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const done = await ledger.complete(claimed, outcomeFor(requestId), { now: at(1) });

    await expect(
      ledger.complete(done, outcomeFor(requestId, { status: 'failed' }), { now: at(2) }),
    ).rejects.toBeInstanceOf(LedgerConflictError);
    expect((await ledger.get(requestId))?.state).toBe('succeeded');
  });

  it('releases a transient failure so that a redelivery claims it at once, summing attempts', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);

    const released = await ledger.release(claimed, 3, at(1000));
    expect(released).toMatchObject({ state: 'received', attempts: 3 });
    expect(released.leaseUntil).toBeUndefined();
    expect(await ledger.get(requestId)).toEqual(released);

    const again = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(1001) });
    expect(again).toMatchObject({ kind: 'claimed', record: { deliveries: 2, attempts: 3 } });
    if (again.kind !== 'claimed') return;
    const done = await ledger.complete(again.record, outcomeFor(requestId, { attempts: 1 }), { now: at(2000) });
    expect(done.attempts).toBe(4);
  });

  it('marks a terminal record published, idempotently, and later claims see it', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const done = await ledger.complete(claimed, outcomeFor(requestId), { now: at(1) });

    const published = await ledger.markPublished(done, at(2));
    // A second delivery holding the pre-publish version marks it too: no error, still published.
    const again = await ledger.markPublished(done, at(3));

    expect(published.published).toBe(true);
    expect(again.published).toBe(true);
    const later = await ledger.claim({ requestId, fingerprint: 'fp-1', leaseMs: LEASE, now: at(4) });
    expect(later).toMatchObject({ kind: 'done', record: { published: true } });
  });

  it('refuses to mark a record published before its outcome is recorded', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);

    await expect(ledger.markPublished(claimed, at(1))).rejects.toBeInstanceOf(LedgerConflictError);
    expect((await ledger.get(requestId))?.published).toBe(false);
  });
});

describe('get and purge', () => {
  it('answers undefined for an unknown requestId', async () => {
    expect(await ledger.get(newId())).toBeUndefined();
  });

  it('purges records last updated before the cutoff, and only those', async () => {
    const purgeLedger = createTableLedger({ connectionString: azurite().connectionString, tableName: 'purgetest' });
    const old = [newId(), newId(), newId()];
    const recent = [newId(), newId()];
    const claim = (requestId: string, now: Date) =>
      purgeLedger.claim({ requestId, fingerprint: 'fp', leaseMs: LEASE, now });
    for (const id of old) await claim(id, new Date('2029-01-01T00:00:00Z'));
    for (const id of recent) await claim(id, new Date('2031-01-01T00:00:00Z'));
    // An old record updated after the cutoff counts as recent.
    const revived = await claim(newId(), new Date('2029-06-01T00:00:00Z'));
    if (revived.kind !== 'claimed') throw new Error('expected claimed');
    await purgeLedger.complete(revived.record, outcomeFor(revived.record.requestId), {
      now: new Date('2031-02-01T00:00:00Z'),
    });

    const purged = await purgeLedger.purge(new Date('2030-01-01T00:00:00Z'));

    expect(purged).toBe(3);
    for (const id of old) expect(await purgeLedger.get(id)).toBeUndefined();
    for (const id of [...recent, revived.record.requestId]) expect(await purgeLedger.get(id)).toBeDefined();
    expect(await purgeLedger.purge(new Date('2030-01-01T00:00:00Z'))).toBe(0);
  });
});

describe('stored outcomes', () => {
  it('round-trips a large (~200 KB) outcome split across properties, non-ASCII included', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const big = 'x'.repeat(190_000) + 'é'.repeat(5_000) + '😀'.repeat(2_000);
    const outcome = outcomeFor(requestId, {
      backend: { id: TARGET_ID, properties: { description: big, url: 'https://a.example.com' } },
    });

    await ledger.complete(claimed, outcome, { now: at(1) });

    const stored = (await ledger.get(requestId))?.outcome;
    // Compare as text: a failing deep-equality diff of 200 KB would flood the test output.
    expect(JSON.stringify(stored) === JSON.stringify(outcome)).toBe(true);
    const raw = await rawTable().getEntity<Record<string, unknown>>(ledgerPartitionKey(requestId), LEDGER_ROW_KEY);
    expect(raw['outcomeParts']).toBeGreaterThan(1);
  });

  it('still records an outcome too large for an entity, without its backend body', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const outcome = outcomeFor(requestId, {
      backend: { id: TARGET_ID, properties: { description: 'y'.repeat(600_000) } },
    });

    await ledger.complete(claimed, outcome, { now: at(1) });

    const record = await ledger.get(requestId);
    expect(record?.state).toBe('succeeded');
    const { backend: _backend, ...rest } = outcome;
    expect(record?.outcome).toEqual(rest);
  });

  it('never stores a secret, even when an outcome carries one', async () => {
    const requestId = newId();
    const claimed = await claimNew(requestId);
    const planted = ['planted-header-secret', 'planted-query-secret', 'planted-auth-secret', 'planted-proxy-secret'];
    const backend = {
      properties: {
        url: 'https://orders.example.com',
        credentials: {
          header: { 'x-api-key': [planted[0]] },
          query: { code: [planted[1]] },
          authorization: { scheme: 'Basic', parameter: planted[2] },
        },
        proxy: { url: 'http://proxy.example.com', username: 'u', password: planted[3] },
      },
    };
    const outcome = outcomeFor(requestId, {
      backend,
      plan: {
        current: backend,
        changes: [{ path: 'properties.proxy', from: backend.properties.proxy, to: { password: planted[3] } }],
      },
    });

    const stored = await ledger.complete(claimed, outcome, { now: at(1) });

    const raw = await rawTable().getEntity(ledgerPartitionKey(requestId), LEDGER_ROW_KEY);
    const text = JSON.stringify(raw);
    for (const secret of planted) {
      expect(text).not.toContain(secret);
      expect(JSON.stringify(stored)).not.toContain(secret);
    }
    expect(text).toContain('[REDACTED]');
    // The rest of the outcome is kept.
    expect((await ledger.get(requestId))?.outcome?.backend).toMatchObject({
      properties: { url: 'https://orders.example.com', proxy: { username: 'u', password: '[REDACTED]' } },
    });
  });
});

describe('fingerprintRequest', () => {
  const request = {
    requestId: 'r1',
    operation: 'createOrUpdate',
    target: TARGET,
    body: { properties: { url: 'https://orders.example.com', protocol: 'http', title: 'Orders' } },
  };

  it('is the same for an object target and the id string (ARM ids are case-insensitive)', () => {
    expect(fingerprintRequest({ ...request, target: TARGET_ID })).toBe(fingerprintRequest(request));
    expect(fingerprintRequest({ ...request, target: TARGET_ID.toUpperCase() })).toBe(fingerprintRequest(request));
  });

  it('is the same for reordered keys, and ignores requestId and dryRun', () => {
    const reordered = {
      body: { properties: { title: 'Orders', protocol: 'http', url: 'https://orders.example.com' } },
      target: { backendId: 'orders', serviceName: 'apimService1', resourceGroupName: 'rg1', subscriptionId: SUB },
      operation: 'createOrUpdate',
      requestId: 'other',
      dryRun: true,
    };
    expect(fingerprintRequest(reordered)).toBe(fingerprintRequest(request));
  });

  it('differs when the body, operation, target or ifMatch differ', () => {
    const base = fingerprintRequest(request);
    const variants = [
      { ...request, body: { properties: { ...request.body.properties, url: 'https://other.example.com' } } },
      { ...request, operation: 'update' },
      { ...request, target: { ...TARGET, backendId: 'payments' } },
      { ...request, target: { ...TARGET, workspaceId: 'wks1' } },
      { ...request, ifMatch: '*' },
    ];
    const prints = variants.map(fingerprintRequest);
    for (const print of prints) expect(print).not.toBe(base);
    expect(new Set(prints).size).toBe(prints.length);
  });

  const withSecret = (password: string) => ({
    ...request,
    body: { properties: { ...request.body.properties, proxy: { url: 'http://proxy:8080', password } } },
  });

  it('differs when only a credential differs', () => {
    const a = fingerprintRequest(withSecret('hunter2'));
    expect(fingerprintRequest(withSecret('hunter2'))).toBe(a);
    expect(fingerprintRequest(withSecret('hunter3'))).not.toBe(a);
  });

  it('is stored without the credential in any plain encoding, nor a plain hash of the request it covers', async () => {
    const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
    // The form production fingerprints: requestId and dryRun left out, the target as its lower-cased ARM id.
    // Anchored here: for a request without secrets the fingerprint is exactly the plain hash of that form, so the
    // hashes below are of what production hashes, not of a form it never sees.
    const formOf = ({ requestId: _id, ...rest }: ReturnType<typeof withSecret> | typeof request) => ({
      ...rest,
      target: TARGET_ID.toLowerCase(),
    });
    expect(fingerprintRequest(request)).toBe(sha256(canonicalJson(formOf(request))));

    const secret = 'hunter2';
    const withPassword = withSecret(secret);
    const requestId = newId();
    const claim = await ledger.claim({
      requestId,
      fingerprint: fingerprintRequest(withPassword),
      leaseMs: LEASE,
      now: T0,
    });
    if (claim.kind !== 'claimed') throw new Error(`expected claimed, got ${claim.kind}`);
    await ledger.complete(claim.record, outcomeFor(requestId), { now: at(1) });

    const stored = JSON.stringify(await rawTable().getEntity(ledgerPartitionKey(requestId), LEDGER_ROW_KEY));
    const encodings = [
      secret,
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('hex'),
      sha256(secret),
      sha256(JSON.stringify([secret])),
      sha256(canonicalJson(formOf(withPassword))),
    ];
    for (const encoded of encodings) expect(stored).not.toContain(encoded);
    // What is stored still tells the two passwords apart: a different credential under that requestId is a conflict.
    const again = await ledger.claim({
      requestId,
      fingerprint: fingerprintRequest(withSecret('hunter3')),
      leaseMs: LEASE,
      now: at(2),
    });
    expect(again.kind).toBe('conflict');
  });
});
