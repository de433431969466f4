/**
 * Property-based tests of change-set ordering: whatever the dependencies, the order is a permutation that puts every
 * prerequisite first, keeps the caller's order whenever it can (it is the lexicographically smallest valid order,
 * checked against brute force on small sets), and the dependencies derived from pools put new members before the
 * pools listing them and pools before the deletes of members they drop.
 */
import fc from 'fast-check';
import type { ChangeRequest } from '../../shared/domain/contract/change-request';
import { backendKey, currentState } from '../../shared/domain/set-graph';
import { dependencies, stableTopologicalOrder, type Dependency } from '../../shared/domain/set-order';
import { setProblems } from '../../shared/domain/set-rules';

/** Random DAGs: edges only from a random rank to a higher one, then the items shuffled. */
const dag = fc
  .integer({ min: 0, max: 8 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      ranks: fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
      edges: fc.array(fc.tuple(fc.nat(Math.max(0, n - 1)), fc.nat(Math.max(0, n - 1))), { maxLength: 16 }),
    }),
  )
  .map(({ n, ranks, edges }) => {
    // Map rank order onto items: an edge goes from the lower-ranked item to the higher-ranked one (acyclic).
    const deps: Dependency[] = [];
    for (const [a, b] of edges) {
      if (n === 0 || a === b) continue;
      const [lo, hi] = ranks[a]! < ranks[b]! ? [a, b] : [b, a];
      deps.push([lo, hi]);
    }
    return { n, deps };
  });

function allTopologicalOrders(n: number, deps: readonly Dependency[]): number[][] {
  const out: number[][] = [];
  const visit = (prefix: number[], left: Set<number>): void => {
    if (left.size === 0) out.push(prefix);
    for (const item of left) {
      const blocked = deps.some(([before, after]) => after === item && left.has(before));
      if (!blocked) visit([...prefix, item], new Set([...left].filter((x) => x !== item)));
    }
  };
  visit([], new Set(Array.from({ length: n }, (_, i) => i)));
  return out;
}

const lexLess = (a: number[], b: number[]): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

describe('stableTopologicalOrder', () => {
  it('is a permutation in which every prerequisite comes first', () => {
    fc.assert(
      fc.property(dag, ({ n, deps }) => {
        const result = stableTopologicalOrder(n, deps);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect([...result.order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        const position = new Map(result.order.map((item, i) => [item, i]));
        for (const [before, after] of deps) expect(position.get(before)!).toBeLessThan(position.get(after)!);
      }),
    );
  });

  it("keeps the caller's order whenever it can: the smallest valid order, by brute force", () => {
    fc.assert(
      fc.property(
        dag.filter(({ n }) => n <= 6),
        ({ n, deps }) => {
          const result = stableTopologicalOrder(n, deps);
          if (!result.ok) throw new Error('acyclic input reported a cycle');
          for (const other of allTopologicalOrders(n, deps)) expect(lexLess(other, result.order)).toBe(false);
        },
      ),
    );
  });

  it('applies a request already in a valid order exactly as sent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            pairs: fc.array(fc.tuple(fc.nat(Math.max(0, n - 1)), fc.nat(Math.max(0, n - 1))), { maxLength: 30 }),
          }),
        ),
        ({ n, pairs }) => {
          const deps = pairs.filter(([a, b]) => a < b).map(([a, b]) => [a, b] as const);
          const result = stableTopologicalOrder(n, deps);
          expect(result).toEqual({ ok: true, order: Array.from({ length: n }, (_, i) => i) });
        },
      ),
    );
  });

  it('reports exactly the items caught in (or behind) a cycle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 3 }), (size, free) => {
        // A ring of `size` items after `free` independent ones.
        const deps: Dependency[] = Array.from({ length: size }, (_, i) => [free + i, free + ((i + 1) % size)] as const);
        const result = stableTopologicalOrder(free + size, deps);
        expect(result).toEqual({ ok: false, cycle: Array.from({ length: size }, (_, i) => free + i) });
      }),
    );
  });
});

const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/s1';
const target = (id: string) => ({
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroupName: 'rg1',
  serviceName: 's1',
  backendId: id,
});
const single = (id: string): ChangeRequest => ({
  operation: 'createOrUpdate',
  target: target(id),
  body: { properties: { url: `https://${id}.example/`, protocol: 'http' } },
  dryRun: false,
});
const pool = (id: string, members: string[], operation: 'createOrUpdate' | 'update' = 'createOrUpdate') =>
  ({
    operation,
    target: target(id),
    body: {
      properties: { type: 'Pool', pool: { services: members.map((m) => ({ id: `${SERVICE}/backends/${m}` })) } },
    },
    dryRun: false,
  }) as ChangeRequest;
const remove = (id: string): ChangeRequest => ({ operation: 'delete', target: target(id), dryRun: false });

/** Sets of pools and singles over a small name space, with a random current state. */
const poolSet = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: 1, maxLength: 7 }),
    seed: fc.array(fc.nat(), { minLength: 14, maxLength: 14 }),
  })
  .map(({ names, seed }) => {
    const pools = new Set(names.filter((_, i) => seed[i]! % 3 === 0));
    const singles = names.filter((n) => !pools.has(n));
    const changes = names.map((name, i): ChangeRequest => {
      if (name === 'g' && seed[13]! % 2 === 0) return pool('old', singles.slice(0, 1), 'update');
      if (pools.has(name))
        return pool(
          name,
          singles.filter((_, j) => (seed[i + 7]! >> j) & 1),
        );
      return seed[i]! % 3 === 1 ? remove(name) : single(name);
    });
    // Now: every single exists; each existing pool lists a subset of singles.
    const items = [
      ...singles.map((n) => ({ id: `${SERVICE}/backends/${n}`, name: n, properties: { url: 'https://x/' } })),
      {
        id: `${SERVICE}/backends/old`,
        name: 'old',
        properties: { type: 'Pool', pool: { services: singles.map((n) => ({ id: `/backends/${n}` })) } },
      },
    ];
    return { changes, current: currentState([{ scope: target('x'), items }]) };
  });

describe('dependencies of pools and members', () => {
  it('orders every accepted set members-first and pools-before-deletes', () => {
    fc.assert(
      fc.property(poolSet, ({ changes, current }) => {
        if (setProblems(changes, current).length > 0) return; // refused sets are never ordered
        const result = stableTopologicalOrder(changes.length, dependencies(changes, current));
        if (!result.ok) throw new Error('an accepted set has a cycle');
        const position = new Map(result.order.map((item, i) => [backendKey(changes[item]!.target), i]));
        changes.forEach((change, index) => {
          const body = change.body as any;
          for (const member of body?.properties?.pool?.services ?? []) {
            const key = (member.id as string).toLowerCase();
            if (position.has(key)) expect(position.get(key)!).toBeLessThan(result.order.indexOf(index));
          }
          // The existing pool 'old' lists every single; a pool written by the set replaces its own list only.
          if (change.operation === 'delete' && position.has(backendKey(target('old')))) {
            expect(position.get(backendKey(target('old')))!).toBeLessThan(result.order.indexOf(index));
          }
        });
      }),
    );
  });

  it('refuses deleting a member of a pool the set leaves in place, and accepts it when the pool drops it first', () => {
    const current = currentState([
      {
        scope: target('x'),
        items: [
          { name: 'm1', properties: { url: 'https://m1/' } },
          { name: 'm2', properties: { url: 'https://m2/' } },
          {
            name: 'p',
            properties: { type: 'Pool', pool: { services: [{ id: '/backends/m1' }, { id: '/backends/m2' }] } },
          },
        ],
      },
    ]);
    expect(setProblems([remove('m1')], current)).toEqual([
      expect.objectContaining({ code: 'MemberOfPool', target: 'changes[0].target' }),
    ]);
    const changes = [remove('m1'), pool('p', ['m2'], 'update')];
    expect(setProblems(changes, current)).toEqual([]);
    expect(stableTopologicalOrder(2, dependencies(changes, current))).toEqual({ ok: true, order: [1, 0] });
  });
});
