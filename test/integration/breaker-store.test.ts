/** The circuit-breaker records on Azurite's Table service (and the in-memory fallback): claims, redelivery, purge. */
import type { BreakerStore, DrainRecord } from '../../shared/app/breaker-ports';
import { createMemoryBreakerStore } from '../../shared/adapters/breaker-store/memory-breaker-store';
import { createTableBreakerStore } from '../../shared/adapters/breaker-store/table-breaker-store';
import type { BreakerEventData } from '../../shared/domain/breaker-record';
import { useAzurite } from '../support/azurite';
import { SERVICE_ID } from '../support/stack';

const azurite = useAzurite();
const NOW = new Date('2026-01-01T00:00:00Z');
const LEASE = 60_000;
let n = 0;

function data(): BreakerEventData {
  n++;
  return {
    eventId: `event/${n}#x`, // characters Table keys forbid
    eventType: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
    state: 'opened',
    backend: `${SERVICE_ID}/backends/store-${n}`,
    rule: 'r',
    eventTime: NOW.toISOString(),
    pools: [],
    action: { mode: 'notify', taken: 'notify', pools: [] },
  };
}

function drain(backend: string, state: DrainRecord['state']): DrainRecord {
  const poolId = `${SERVICE_ID}/backends/pool-${++n}`;
  return {
    poolId,
    memberId: backend,
    setPriority: 2,
    backendId: backend,
    openedBy: 'e',
    requestId: 'r',
    write: {
      requestId: 'r',
      target: { subscriptionId: 's', resourceGroupName: 'g', serviceName: 'a', backendId: 'p' },
      ifMatch: '"1"',
      body: { properties: { type: 'Pool', pool: { services: [] } } },
    },
    state,
  };
}

describe.each([
  [
    'table',
    () => createTableBreakerStore({ connectionString: azurite().connectionString, tableName: `bs${Date.now()}` }),
  ],
  ['memory', () => createMemoryBreakerStore()],
])('%s breaker store', (_kind, create: () => BreakerStore) => {
  let store: BreakerStore;
  beforeAll(() => {
    store = create();
  });

  it('of concurrent claims exactly one wins; after completion a claim answers done', async () => {
    const d = data();
    const claims = await Promise.all([1, 2, 3].map(() => store.claim(d, NOW, LEASE)));
    expect(claims.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'busy')).toHaveLength(2);
    const mine = claims.find((c) => c.kind === 'claimed')!.record;
    await store.complete(mine, { ...d, action: { mode: 'drain', taken: 'none', reason: 'Stale', pools: [] } }, NOW);
    const again = await store.claim(d, NOW, LEASE);
    expect(again).toMatchObject({
      kind: 'done',
      record: { status: 'done', action: { reason: 'Stale' }, published: false },
    });
    await store.markPublished(again.record);
    expect((await store.get(d.backend, d.eventId))?.published).toBe(true);
    expect((await store.events(d.backend.toUpperCase())).map((r) => r.eventId)).toEqual([d.eventId]);
  });

  it('a released or expired claim is taken over', async () => {
    const d = data();
    const first = await store.claim(d, NOW, LEASE);
    await store.release(first.record);
    expect((await store.claim(d, NOW, LEASE)).kind).toBe('claimed');
    expect((await store.claim(d, new Date(NOW.getTime() + LEASE + 1), LEASE)).kind).toBe('claimed');
  });

  it('keeps drain snapshots per pool and per backend', async () => {
    const backend = `${SERVICE_ID}/backends/member-${++n}`;
    const a = drain(backend, 'drained');
    await store.putDrain(a);
    await store.putDrain({ ...a, state: 'closed', closedBy: 'c', closeResult: 'restored' });
    expect(await store.poolDrains(a.poolId)).toEqual([
      { ...a, state: 'closed', closedBy: 'c', closeResult: 'restored' },
    ]);
    expect((await store.backendDrains(backend)).map((d) => d.state)).toEqual(['closed']);
  });
});

it('purge deletes processed events and finished drains, and keeps drains in force', async () => {
  const store = createTableBreakerStore({
    connectionString: azurite().connectionString,
    tableName: `purge${Date.now()}`,
  });
  const done = data();
  const claim = await store.claim(done, NOW, LEASE);
  await store.complete(claim.record, done, NOW);
  const processing = data();
  await store.claim(processing, NOW, LEASE);
  const backend = `${SERVICE_ID}/backends/member-${++n}`;
  const active = drain(backend, 'drained');
  const closed = drain(backend, 'closed');
  await store.putDrain(active);
  await store.putDrain(closed);
  expect(await store.purge(new Date('2000-01-01T00:00:00Z'))).toBe(0);
  expect(await store.purge(new Date(Date.now() + 60_000))).toBe(2);
  expect(await store.get(done.backend, done.eventId)).toBeUndefined();
  expect(await store.get(processing.backend, processing.eventId)).toBeDefined();
  expect((await store.backendDrains(backend)).map((d) => d.poolId)).toEqual([active.poolId]);
});
