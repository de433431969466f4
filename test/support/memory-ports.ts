/**
 * In-memory ports for unit tests of the change service: a ledger with the table ledger's record transitions
 * (shared/adapters/ledger/ledger-transitions.ts) over a Map, an ARM that holds backends with ETags and can be told to
 * throttle, a queue and publishers that keep what they were given, and a clock that only moves when told (or slept).
 */
import type { ArmBackendClient, ArmResult } from '../../shared/app/arm-ports';
import type { ChangeLedger, LedgerRecord } from '../../shared/app/ledger-ports';
import type { QueuedChange } from '../../shared/app/queue-ports';
import { backendResourceId, type BackendTarget } from '../../shared/domain/backend-id';
import type { Outcome } from '../../shared/domain/contract/outcome';
import { LedgerConflictError, TERMINAL_STATES } from '../../shared/domain/ledger-state';
import {
  claimed,
  closed,
  completed,
  newRecord,
  registered,
  released,
  setCompleted,
  standingOf,
  withIntent,
  type NextRecord,
} from '../../shared/adapters/ledger/ledger-transitions';
import { isSetOutcome } from '../../shared/domain/contract/change-set';

export function memoryLedger(): ChangeLedger & { records: Map<string, LedgerRecord> } {
  const records = new Map<string, LedgerRecord>();
  let version = 0;
  const save = (next: NextRecord): LedgerRecord => {
    const record = { ...next, version: String(++version) };
    records.set(record.requestId, record);
    return record;
  };
  const replace = (previous: LedgerRecord, next: NextRecord): LedgerRecord => {
    if (records.get(previous.requestId)?.version !== previous.version)
      throw new LedgerConflictError(previous.requestId);
    return save(next);
  };
  return {
    records,
    async claim(input) {
      const known = records.get(input.requestId);
      if (known === undefined) return { kind: 'claimed', record: save(newRecord(input, input.leaseMs)) };
      const standing = standingOf(known, input);
      if (standing !== 'idle') return { kind: standing, record: known };
      return { kind: 'claimed', record: replace(known, claimed(known, input)) };
    },
    async register(input) {
      const known = records.get(input.requestId);
      if (known === undefined) return { kind: 'registered', record: save(newRecord(input)) };
      const standing = standingOf(known, input);
      if (standing !== 'idle') return { kind: standing, record: known };
      if (known.state === 'received') return { kind: 'registered', record: known };
      return { kind: 'registered', record: replace(known, registered(known, input)) };
    },
    async complete(record, outcome, extra) {
      return replace(
        record,
        isSetOutcome(outcome) ? setCompleted(record, outcome, extra.now) : completed(record, outcome, extra),
      );
    },
    async recordIntent(record, intent, now) {
      return replace(record, withIntent(record, intent, now));
    },
    async close(record, outcome, now) {
      return replace(record, closed(record, outcome, now));
    },
    async release(record, attempts, now, options = {}) {
      return replace(record, released(record, attempts, now, options));
    },
    async markPublished(record, now) {
      const current = records.get(record.requestId);
      if (current === undefined || !TERMINAL_STATES.has(current.state)) throw new LedgerConflictError(record.requestId);
      if (current.published) return current;
      return save({ ...current, published: true, updatedAt: now.toISOString() });
    },
    async stalled(origin, now, limit) {
      return [...records.values()]
        .filter(
          (r) =>
            r.state === 'applying' &&
            r.origin === origin &&
            r.leaseUntil !== undefined &&
            Date.parse(r.leaseUntil) < now.getTime(),
        )
        .slice(0, limit);
    },
    async unpublished(olderThan, limit) {
      return [...records.values()]
        .filter((r) => TERMINAL_STATES.has(r.state) && !r.published && Date.parse(r.updatedAt) < olderThan.getTime())
        .slice(0, limit);
    },
    async get(requestId) {
      return records.get(requestId);
    },
    async purge(cutoff) {
      let deleted = 0;
      for (const [id, record] of records) {
        if (Date.parse(record.updatedAt) < cutoff.getTime()) {
          records.delete(id);
          deleted += 1;
        }
      }
      return deleted;
    },
  };
}

/** Backends by lower-cased ARM id, each with an ETag that changes on every write. */
export function memoryArm() {
  const backends = new Map<string, { body: unknown; etag: string }>();
  const writes: Array<{ method: string; id: string }> = [];
  let etags = 0;
  let throttled = false;
  const headers = (etag?: string) => (etag === undefined ? {} : { etag });
  const key = (target: BackendTarget) => backendResourceId(target).toLowerCase();
  const ok = <T>(status: number, body: T, etag?: string): ArmResult<T> => ({
    kind: 'ok',
    status,
    headers: headers(etag),
    body,
    attempts: 1,
    reads: 0,
  });
  const notFound: ArmResult<never> = {
    kind: 'armError',
    status: 404,
    headers: {},
    error: { code: 'ResourceNotFound', message: 'Backend not found.' },
    attempts: 1,
    reads: 0,
  };
  const throttle: ArmResult<never> = {
    kind: 'transient',
    code: 'Throttled',
    status: 429,
    retryAfterMs: 7000,
    headers: {},
    error: { code: 'TooManyRequests', message: 'Throttled.' },
    attempts: 3,
    reads: 0,
  };
  const write = (method: string, target: BackendTarget, body: unknown): ArmResult => {
    if (throttled) return throttle;
    const created = !backends.has(key(target));
    const etag = `"e${++etags}"`;
    backends.set(key(target), { body: { id: backendResourceId(target), ...(body as object) }, etag });
    writes.push({ method, id: key(target) });
    return ok(created ? 201 : 200, backends.get(key(target))!.body, etag);
  };
  const client: ArmBackendClient = {
    getEntityTag: async (target) => {
      const found = backends.get(key(target));
      return found === undefined ? notFound : ok(200, undefined, found.etag);
    },
    get: async (target) => {
      const found = backends.get(key(target));
      return found === undefined ? notFound : ok(200, found.body, found.etag);
    },
    list: async (scope) => {
      const prefix = `${backendResourceId({ ...scope, backendId: '' }).toLowerCase()}`;
      const value = [...backends.entries()].filter(([id]) => id.startsWith(prefix)).map(([, b]) => b.body);
      return ok(200, { value });
    },
    createOrUpdate: async (target, body) => write('PUT', target, body),
    update: async (target, body) => write('PATCH', target, body),
    reconnect: async (target) => {
      if (throttled) return throttle;
      writes.push({ method: 'POST', id: key(target) });
      return ok(202, undefined);
    },
    delete: async (target) => {
      backends.delete(key(target));
      writes.push({ method: 'DELETE', id: key(target) });
      return ok(200, undefined);
    },
  };
  return {
    client,
    backends,
    writes,
    throttle(on: boolean) {
      throttled = on;
    },
  };
}

/** A clock that moves only when told, or when something sleeps. */
export function manualClock(start = Date.parse('2026-11-29T05:00:00Z')) {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** A queue and a publisher that keep what they were given; the queue can be made to refuse. */
export function keepingQueue() {
  const sent: QueuedChange[] = [];
  let down = false;
  return {
    sent,
    down(on: boolean) {
      down = on;
    },
    port: {
      enqueue: async (changes: QueuedChange[]) => {
        if (down) throw new Error('connection refused');
        sent.push(...changes);
      },
    },
  };
}

export function keepingPublisher() {
  const published: Outcome[] = [];
  return {
    published,
    port: {
      publish: async (outcome: Outcome) => {
        published.push(outcome);
      },
      publishChangeSet: async () => undefined,
    },
  };
}
