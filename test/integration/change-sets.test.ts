/**
 * Change sets end to end through the real handlers, the real ARM client over HTTPS against the emulator, the ledger
 * on Azurite and the embedded Service Bus broker: dependency order, whole-set refusal before any write, stop and
 * skip, atomic undo (and an undo that must not be forced), exactly-once repeats and resumption after a crash, dry run.
 */
import { HttpRequest } from '@azure/functions';
import fc from 'fast-check';
import { backendChangeStatusHandler } from '../../functions/backend-change-status';
import { backendChangesHandler } from '../../functions/backend-changes';
import { processBackendChangeHandler } from '../../functions/process-backend-change';
import { processDeps } from '../../functions/composition-root';
import { processChangeSet } from '../../shared/app/apply-change-set';
import type { ChangeLedger } from '../../shared/app/ledger-ports';
import { silentLogger } from '../../shared/app/logger-ports';
import { SERVICE_ID, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ ALLOW_DELETE: 'true' });
}, 60_000);
afterAll(() => stack.stop());
beforeEach(() => stack.emulator.reset());

const id = (name: string) => `${SERVICE_ID}/backends/${name}`;
const single = (name: string, description = 'v1') => ({
  operation: 'createOrUpdate',
  target: id(name),
  body: { properties: { url: `https://${name}.example/`, protocol: 'http', description } },
});
const pool = (name: string, members: string[]) => ({
  operation: 'createOrUpdate',
  target: id(name),
  body: { properties: { type: 'Pool', pool: { services: members.map((m) => ({ id: id(m) })) } } },
});

function post(payload: unknown, headers: Record<string, string> = {}) {
  return backendChangesHandler(() => stack.services)(
    new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/backend-changes',
      headers: { 'content-type': 'application/json', ...headers },
      body: { string: JSON.stringify(payload) },
    }),
    stack.context('backendChanges'),
  );
}

/** Writes ARM received, as `METHOD name`, in arrival order (successful or not). */
const writes = () =>
  stack.emulator.requests
    .filter((r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method))
    .map((r) => `${r.method} ${r.path.slice(r.path.lastIndexOf('/') + 1)}`);

/** `real`, except that the process "dies" the first time item `requestId`'s outcome is recorded (after its write). */
function crashingOnFirstComplete(real: ChangeLedger, requestId: string): ChangeLedger {
  let crashes = 0;
  return Object.assign(Object.create(real) as ChangeLedger, {
    complete: (...args: Parameters<ChangeLedger['complete']>) => {
      if (args[0].requestId === requestId && crashes++ === 0) throw new Error('process crashed');
      return real.complete(...args);
    },
  });
}

async function eventsFor(prefix: string, count: number): Promise<any[]> {
  for (let i = 0; i < 200; i++) {
    const found = stack.events().filter((e) => String(e.data.requestId).startsWith(prefix));
    if (found.length >= count) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${count} events for ${prefix}`);
}

describe('change sets', () => {
  it('applies a pool listed before its two new members members-first, with one event per item and one for the set', async () => {
    const res = await post({ requestId: 'set-order', changes: [pool('p1', ['m1', 'm2']), single('m1'), single('m2')] });
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ requestId: 'set-order', status: 'succeeded', order: [1, 2, 0] });
    expect(res.jsonBody.items.map((i: any) => [i.requestId, i.status])).toEqual([
      ['set-order/0', 'succeeded'],
      ['set-order/1', 'succeeded'],
      ['set-order/2', 'succeeded'],
    ]);
    expect(writes()).toEqual(['PUT m1', 'PUT m2', 'PUT p1']);
    const events = await eventsFor('set-order', 4);
    expect(events.map((e) => e.type).sort()).toEqual([
      'com.apim-backend-changes.backend-change.succeeded',
      'com.apim-backend-changes.backend-change.succeeded',
      'com.apim-backend-changes.backend-change.succeeded',
      'com.apim-backend-changes.change-set.succeeded',
    ]);
  });

  it('refuses deleting a member still in a pool the set leaves in place, before any write', async () => {
    stack.emulator.putBackend(id('m1'), { url: 'https://m1/', protocol: 'http' });
    stack.emulator.putBackend(id('m2'), { url: 'https://m2/', protocol: 'http' });
    stack.emulator.putBackend(id('p1'), { type: 'Pool', pool: { services: [{ id: id('m1') }, { id: id('m2') }] } });
    const res = await post({
      requestId: 'set-refused',
      changes: [single('x1'), { operation: 'delete', target: id('m1') }, pool('p2', ['m3'])],
    });
    expect(res.status).toBe(400);
    expect(res.jsonBody.status).toBe('rejected');
    expect(res.jsonBody.error.details).toEqual([
      expect.objectContaining({ code: 'MemberNotFound', target: 'changes[2].body.properties.pool.services[0].id' }),
      expect.objectContaining({ code: 'MemberOfPool', target: 'changes[1].target' }),
    ]);
    expect(res.jsonBody.items.map((i: any) => i.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(writes()).toEqual([]);
    // Taking it out of the pool in the same set makes it acceptable, and the pool goes first.
    const ok = await post({
      requestId: 'set-drop-then-delete',
      changes: [{ operation: 'delete', target: id('m1') }, pool('p1', ['m2'])],
    });
    expect(ok.status).toBe(200);
    expect(ok.jsonBody.order).toEqual([1, 0]);
    expect(writes()).toEqual(['PUT p1', 'DELETE m1']);
  });

  it('stops at a failure at step 3 of 4 and skips the rest', async () => {
    stack.emulator.injectFault({ method: 'PUT', path: /\/backends\/c3$/, status: 400, code: 'ValidationError' });
    const res = await post({ requestId: 'set-stop', changes: ['c1', 'c2', 'c3', 'c4'].map((n) => single(n)) });
    expect(res.status).toBe(400);
    expect(res.jsonBody.status).toBe('failed');
    expect(res.jsonBody.items.map((i: any) => i.status)).toEqual(['succeeded', 'succeeded', 'failed', 'skipped']);
    expect(writes()).toEqual(['PUT c1', 'PUT c2', 'PUT c3']);
    expect(stack.emulator.getBackend(id('c4'))).toBeUndefined();
    const events = await eventsFor('set-stop', 4);
    expect(events.map((e) => e.type)).toContain('com.apim-backend-changes.change-set.failed');
    expect(events.filter((e) => e.data.requestId === 'set-stop/3')).toHaveLength(0);
  });

  it('atomic: undoes the two applied steps in reverse (delete without ALLOW_DELETE), each on our own ETag', async () => {
    stack.emulator.putBackend(id('a1'), { url: 'https://a1/', protocol: 'http', description: 'original' });
    stack.emulator.injectFault({ method: 'PUT', path: /\/backends\/a3$/, status: 400, code: 'ValidationError' });
    const deps = processDeps(stack.services, silentLogger);
    const result = await processChangeSet(
      {
        requestId: 'set-atomic',
        atomic: true,
        changes: [
          { operation: 'update', target: id('a1'), body: { properties: { description: 'changed' } } },
          single('a2'),
          single('a3'),
        ],
      },
      { fallbackRequestId: 'x', onTransient: 'answer' },
      { ...deps, settings: { ...deps.settings, allowDelete: false } },
    );
    if (result.kind !== 'outcome') throw new Error(result.kind);
    expect(result.outcome.status).toBe('rolledBack');
    expect(result.outcome.items.map((i) => [i.status, i.undo?.status])).toEqual([
      ['succeeded', 'undone'],
      ['succeeded', 'undone'],
      ['failed', undefined],
    ]);
    expect(writes()).toEqual(['PATCH a1', 'PUT a2', 'PUT a3', 'DELETE a2', 'PUT a1']);
    const etags = stack.emulator.requests.filter((r) => r.method === 'DELETE' || r.path.endsWith('a1'));
    expect(etags.every((r) => r.ifMatch === undefined || r.ifMatch !== '*')).toBe(true);
    expect(stack.emulator.getBackend(id('a2'))).toBeUndefined();
    expect(stack.emulator.getBackend(id('a1'))?.properties).toMatchObject({ description: 'original' });
  });

  it("atomic: an undo blocked by someone else's change is reported, not forced", async () => {
    stack.emulator.putBackend(id('b1'), { url: 'https://b1/', protocol: 'http', description: 'original' });
    stack.emulator.injectFault({ method: 'PUT', path: /\/backends\/b3$/, delayMs: 600, status: 400 });
    const pending = post({
      requestId: 'set-blocked',
      atomic: true,
      changes: [
        { operation: 'update', target: id('b1'), body: { properties: { description: 'ours' } } },
        single('b2'),
        single('b3'),
      ],
    });
    for (let i = 0; i < 200 && !writes().includes('PUT b3'); i++) await new Promise((r) => setTimeout(r, 10));
    stack.emulator.putBackend(id('b1'), { url: 'https://b1/', protocol: 'http', description: 'theirs' });
    const res = await pending;
    expect(res.status).toBe(400);
    expect(res.jsonBody.status).toBe('failed');
    expect(res.jsonBody.items[0].undo).toMatchObject({
      status: 'notUndone',
      httpStatus: 412,
      error: { code: 'ChangedSinceApplied' },
    });
    expect(res.jsonBody.items[1].undo).toMatchObject({ status: 'undone' });
    expect(stack.emulator.getBackend(id('b1'))?.properties).toMatchObject({ description: 'theirs' });
    expect(stack.emulator.getBackend(id('b2'))).toBeUndefined();
  });

  it('a repeated set writes nothing new and gets the same answer; a different set under its id is a conflict', async () => {
    const set = { requestId: 'set-repeat', changes: [single('r1'), single('r2')] };
    const first = await post(set);
    expect(first.status).toBe(200);
    const before = writes().length;
    const again = await post(set);
    expect(again.status).toBe(200);
    expect(again.jsonBody).toEqual(first.jsonBody);
    expect(writes().length).toBe(before);
    const other = await post({ requestId: 'set-repeat', changes: [single('r1', 'v2')] });
    expect(other.status).toBe(409);
    expect(other.jsonBody.error.code).toBe('RequestIdConflict');

    const status = await backendChangeStatusHandler(() => stack.services)(
      new HttpRequest({
        method: 'GET',
        url: 'http://localhost/api/backend-changes/set-repeat',
        params: { requestId: 'set-repeat' },
      }),
      stack.context('backendChangeStatus'),
    );
    expect(status.jsonBody).toMatchObject({
      requestId: 'set-repeat',
      kind: 'changeSet',
      state: 'succeeded',
      outcome: { status: 'succeeded', items: [{ requestId: 'set-repeat/0' }, { requestId: 'set-repeat/1' }] },
    });
  });

  it('a set redelivered after a crash between items completes without duplicate writes', async () => {
    const deps = { ...processDeps(stack.services, silentLogger), leaseMs: 1000 };
    // The process dies after item 1's write reached ARM but before its outcome was recorded.
    const crashing = crashingOnFirstComplete(deps.ledger!, 'set-crash/1');
    const raw = { requestId: 'set-crash', changes: [single('k1'), single('k2'), single('k3')] };
    const delivery = { fallbackRequestId: 'm', onTransient: 'redeliver' } as const;
    await expect(processChangeSet(raw, delivery, { ...deps, ledger: crashing })).rejects.toThrow('process crashed');
    expect(writes()).toEqual(['PUT k1', 'PUT k2']);
    await new Promise((r) => setTimeout(r, 1200)); // the crashed delivery's lease runs out
    const redelivered = await processChangeSet(raw, delivery, { ...deps, ledger: crashing });
    if (redelivered.kind !== 'outcome') throw new Error(redelivered.kind);
    expect(redelivered.outcome.status).toBe('succeeded');
    // Settled from its recorded write intent: reported as the create the crashed delivery made, not sent again.
    const item1 = redelivered.outcome.items.find((i) => i.index === 1);
    expect(item1).toMatchObject({ status: 'succeeded', httpStatus: 201, created: true, attempts: 0 });
    expect(item1?.unchanged).toBeUndefined();
    expect(writes()).toEqual(['PUT k1', 'PUT k2', 'PUT k3']);
  });

  it('a set redelivered after a crash mid-item never rolls back a later change to that backend: Superseded', async () => {
    const deps = { ...processDeps(stack.services, silentLogger), leaseMs: 1000 };
    // The process dies after item 0's write reached ARM but before its outcome was recorded.
    const crashing = crashingOnFirstComplete(deps.ledger!, 'set-rollback/0');
    const delivery = { fallbackRequestId: 'm', onTransient: 'redeliver' } as const;
    expect(await post({ requestId: 'rb-v0', ...single('rb', 'v0') })).toMatchObject({ status: 201 });
    const raw = { requestId: 'set-rollback', changes: [single('rb', 'v1'), single('rb-other', 'v1')] };
    await expect(processChangeSet(raw, delivery, { ...deps, ledger: crashing })).rejects.toThrow('process crashed');
    // Someone changes the backend after the crashed write.
    expect(await post({ requestId: 'rb-v2', ...single('rb', 'v2') })).toMatchObject({ status: 200 });
    await new Promise((r) => setTimeout(r, 1200)); // the crashed delivery's lease runs out
    const redelivered = await processChangeSet(raw, delivery, { ...deps, ledger: crashing });
    if (redelivered.kind !== 'outcome') throw new Error(redelivered.kind);
    expect(redelivered.outcome.status).toBe('failed');
    expect(redelivered.outcome.items[0]).toMatchObject({ status: 'failed', error: { code: 'Superseded' } });
    expect(stack.emulator.getBackend(id('rb'))!.properties['description']).toBe('v2');
    expect(writes()).toEqual(['PUT rb', 'PUT rb', 'PUT rb']);
  });

  it('atomic, resumed after a crash mid-item: the item the crashed delivery wrote is reported as not undone', async () => {
    const deps = { ...processDeps(stack.services, silentLogger), leaseMs: 1000 };
    const crashing = crashingOnFirstComplete(deps.ledger!, 'set-atomic-crash/1');
    const delivery = { fallbackRequestId: 'm', onTransient: 'redeliver' } as const;
    const raw = { requestId: 'set-atomic-crash', atomic: true, changes: [single('ax1'), single('ax2'), single('ax3')] };
    await expect(processChangeSet(raw, delivery, { ...deps, ledger: crashing })).rejects.toThrow('process crashed');
    stack.emulator.injectFault({ method: 'PUT', path: /\/backends\/ax3$/, status: 400, code: 'ValidationError' });
    await new Promise((r) => setTimeout(r, 1200)); // the crashed delivery's lease runs out
    const redelivered = await processChangeSet(raw, delivery, { ...deps, ledger: crashing });
    if (redelivered.kind !== 'outcome') throw new Error(redelivered.kind);
    // Neither earlier write can be undone from this delivery: it never saw the state before them.
    expect(redelivered.outcome.items.map((i) => [i.status, i.undo?.error?.code])).toEqual([
      ['succeeded', 'UndoStateLost'],
      ['succeeded', 'UndoStateLost'],
      ['failed', undefined],
    ]);
    expect(redelivered.outcome.status).toBe('failed');
    expect(writes()).toEqual(['PUT ax1', 'PUT ax2', 'PUT ax3']);
  });

  it('a dry run returns the ordered plan of every change and writes nothing', async () => {
    stack.emulator.putBackend(id('d1'), { url: 'https://old/', protocol: 'http' });
    const res = await post({
      requestId: 'set-dry',
      dryRun: true,
      changes: [
        pool('dp', ['d1', 'd2']),
        single('d2'),
        { ...single('d1'), body: { properties: { url: 'https://new/', protocol: 'http' } } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.jsonBody).toMatchObject({ status: 'succeeded', dryRun: true, order: [1, 2, 0] });
    const plans = res.jsonBody.items.map((i: any) => i.plan);
    expect(plans[1].current).toBeNull();
    expect(plans[2].changes).toEqual([{ path: 'properties.url', from: 'https://old/', to: 'https://new/' }]);
    expect(plans[0].changes.length).toBeGreaterThan(0);
    expect(writes()).toEqual([]);
  });

  it('the queue applies a set and redelivers none of it once done', async () => {
    const handler = processBackendChangeHandler(() => stack.services);
    const message = { requestId: 'set-queue', changes: [single('q1'), pool('qp', ['q1'])] };
    await handler(message, stack.context('processBackendChange', { messageId: 'set-queue', deliveryCount: 1 }));
    await handler(message, stack.context('processBackendChange', { messageId: 'set-queue', deliveryCount: 2 }));
    expect(writes()).toEqual(['PUT q1', 'PUT qp']);
    const events = await eventsFor('set-queue', 3);
    expect(events.filter((e) => e.type.startsWith('com.apim-backend-changes.change-set'))).toHaveLength(1);
  });

  it('Prefer: respond-async enqueues a valid set and answers 202', async () => {
    const res = await post({ requestId: 'set-async', changes: [single('s1')] }, { prefer: 'respond-async' });
    expect(res.status).toBe(202);
    expect(res.headers).toMatchObject({ location: '/api/backend-changes/set-async' });
  });

  it('never shows a secret in the set outcome or its events', async () => {
    const secret = 'set-secret-value-123';
    const change = {
      ...single('z1'),
      body: { properties: { url: 'https://z1/', protocol: 'http', credentials: { header: { 'x-key': [secret] } } } },
    };
    const res = await post({ requestId: 'set-secret', changes: [change] });
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.jsonBody)).not.toContain(secret);
    const events = await eventsFor('set-secret', 2);
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it('answers any malformed set with a 4xx naming fields under changes[…], never a throw, never a write', async () => {
    const change = fc.oneof(
      fc.constant(single('f1')),
      fc.constant({ operation: 'delete', target: id('f2') }),
      fc.record({ operation: fc.string(), target: fc.oneof(fc.string(), fc.constant(id('f3'))) }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            requestId: fc.oneof(fc.constant('prop-set'), fc.string({ maxLength: 5 })),
            changes: fc.oneof(fc.array(change, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
            atomic: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
          },
          { requiredKeys: ['changes'] },
        ),
        async (payload) => {
          stack.emulator.reset();
          const res = await post({ ...payload, requestId: `prop-${Math.random().toString(16).slice(2, 10)}` });
          expect(res.status).toBeLessThan(500);
          if (res.status! >= 400 && res.jsonBody.status === 'rejected') {
            expect(writes()).toEqual([]);
            for (const d of res.jsonBody.error.details ?? []) expect(typeof d.target === 'string').toBe(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 60_000);
});
