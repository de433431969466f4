import fc from 'fast-check';
import {
  drainsInWindow,
  isStale,
  MAX_PRIORITY,
  planDrain,
  planRestore,
  type PoolMember,
} from '../../shared/domain/breaker-policy';
import { breakerHistory } from '../../shared/domain/breaker-history';

const POOL = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/a/backends/pool';
const id = (i: number): string =>
  `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/a/backends/m${i}`;

const members = fc
  .array(
    fc.record({
      priority: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      weight: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((list) =>
    list.map((m, i) => {
      const member: PoolMember = { id: id(i) };
      if (m.priority !== undefined) member.priority = m.priority;
      if (m.weight !== undefined) member.weight = m.weight;
      return member;
    }),
  );

describe('drain and restore', () => {
  it('a drained member sits below every other member (or at 100), and nothing else changes', () => {
    fc.assert(
      fc.property(members, fc.nat(), (services, pick) => {
        const target = services[pick % services.length]!;
        const decision = planDrain(POOL, services, target.id.toUpperCase(), []);
        if (services.length === 1) return decision.kind === 'skip' && decision.reason === 'LastHealthyMember';
        if (decision.kind === 'skip') {
          // Only when it already sits at or below the drain priority.
          const others = Math.max(...services.filter((m) => m !== target).map((m) => m.priority ?? 1));
          return (
            decision.reason === 'AlreadyBelowOthers' && (target.priority ?? 1) >= Math.min(others + 1, MAX_PRIORITY)
          );
        }
        const drained = decision.services.find((m) => m.id === target.id)!;
        const others = decision.services.filter((m) => m.id !== target.id);
        expect(others).toEqual(services.filter((m) => m !== target));
        expect(drained.weight).toBe(target.weight);
        expect(drained.priority).toBeLessThanOrEqual(MAX_PRIORITY);
        for (const o of others)
          expect(drained.priority! > (o.priority ?? 1) || drained.priority === MAX_PRIORITY).toBe(true);
        return true;
      }),
    );
  });

  it('restore after an untouched drain gives back exactly the original pool', () => {
    fc.assert(
      fc.property(members, fc.nat(), (services, pick) => {
        const target = services[pick % services.length]!;
        const decision = planDrain(POOL, services, target.id, []);
        if (decision.kind === 'skip') return true;
        const restore = planRestore(decision.services, decision.snapshot);
        expect(restore.kind).toBe('write');
        if (restore.kind === 'write') expect(restore.services).toEqual(services);
        return true;
      }),
    );
  });

  it('restore leaves a member someone changed since the drain', () => {
    fc.assert(
      fc.property(members, fc.nat(), fc.integer({ min: 0, max: 100 }), (services, pick, edit) => {
        const target = services[pick % services.length]!;
        const decision = planDrain(POOL, services, target.id, []);
        if (decision.kind === 'skip' || edit === decision.snapshot.setPriority) return true;
        const edited = decision.services.map((m) => (m.id === target.id ? { ...m, priority: edit } : m));
        const restore = planRestore(edited, decision.snapshot);
        if (edit === target.priority) return restore.kind === 'skip' && restore.reason === 'AlreadyRestored';
        return restore.kind === 'skip' && restore.reason === 'ChangedSince';
      }),
    );
  });

  it('never drains the last member that is not drained', () => {
    fc.assert(
      fc.property(members, fc.nat(), (services, pick) => {
        const target = services[pick % services.length]!;
        const others = services.filter((m) => m !== target).map((m) => m.id);
        const decision = planDrain(POOL, services, target.id, others);
        return decision.kind === 'skip' && decision.reason === 'LastHealthyMember';
      }),
    );
  });
});

describe('guards', () => {
  const prior = (eventTime: string, processedAt: string | undefined, drainedPools = 1, rule = 'r') => ({
    eventId: `${eventTime}-${rule}`,
    kind: 'opened' as const,
    rule,
    eventTime,
    drainedPools,
    ...(processedAt === undefined ? {} : { processedAt }),
  });

  it('an event older than one already processed for the same rule is stale', () => {
    const done = [prior('2026-01-01T00:01:00Z', '2026-01-01T00:01:01Z')];
    expect(isStale({ id: 'x', rule: 'R', eventTime: '2026-01-01T00:00:00Z' }, done)).toBe(true);
    expect(isStale({ id: 'x', rule: 'r', eventTime: '2026-01-01T00:02:00Z' }, done)).toBe(false);
    expect(isStale({ id: 'x', rule: 'other', eventTime: '2026-01-01T00:00:00Z' }, done)).toBe(false);
    expect(
      isStale({ id: 'x', rule: 'r', eventTime: '2026-01-01T00:00:00Z' }, [prior('2026-01-01T00:01:00Z', undefined)]),
    ).toBe(false);
  });

  it('counts drains processed within the window only', () => {
    const now = Date.parse('2026-01-01T02:00:00Z');
    const list = [
      prior('a', '2026-01-01T00:30:00Z'),
      prior('b', '2026-01-01T01:30:00Z'),
      prior('c', '2026-01-01T01:45:00Z', 0),
      prior('d', '2026-01-01T01:50:00Z'),
    ];
    expect(drainsInWindow(list, now, 3_600_000)).toBe(2);
  });
});

describe('history', () => {
  it('pairs open and closed periods per rule with their durations', () => {
    const action = { mode: 'drain' as const, taken: 'drain' as const, pools: [] };
    const record = (eventId: string, state: 'opened' | 'closed', eventTime: string, rule = 'r') => ({
      eventId,
      eventType: 't',
      state,
      backend: id(1),
      rule,
      eventTime,
      pools: [],
      action,
    });
    const history = breakerHistory(id(1), [
      record('c1', 'closed', '2026-01-01T00:10:00Z'),
      record('o1', 'opened', '2026-01-01T00:00:00Z'),
      record('o2', 'opened', '2026-01-01T00:00:30Z'),
      record('o3', 'opened', '2026-01-01T00:20:00Z'),
    ]);
    expect(history.periods.map((p) => [p.state, p.from, p.duration, p.events])).toEqual([
      ['open', '2026-01-01T00:00:00Z', 'PT10M', ['o1', 'o2']],
      ['closed', '2026-01-01T00:10:00Z', 'PT10M', ['c1']],
      ['open', '2026-01-01T00:20:00Z', undefined, ['o3']],
    ]);
  });
});
