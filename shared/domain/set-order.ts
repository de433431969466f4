/**
 * The order a change set is applied in: by dependencies, not by position. Pure.
 *
 * - A pool's new members are created or updated before the pool that lists them (ARM refuses a pool whose member
 *   does not exist: "Backend Entity '…' not found").
 * - A pool is updated or deleted before the members it drops are deleted (a backend still in a pool must not go).
 * - Otherwise the caller's order is kept: whenever several changes are ready, the earliest in the request goes first
 *   (Kahn's algorithm taking the lowest ready index: the lexicographically smallest order that respects every
 *   dependency, so a request already in a valid order is applied exactly as sent).
 */
import type { ChangeRequest } from './contract/change-request';
import { backendKey, listedMembers, membersAfter, type CurrentState } from './set-graph';

/** `[before, after]`: the change at index `before` must be applied before the one at index `after`. */
export type Dependency = readonly [before: number, after: number];

/** The dependencies between the changes of a set, given what ARM holds now. */
export function dependencies(changes: readonly ChangeRequest[], current: CurrentState): Dependency[] {
  const indexOf = new Map<string, number>();
  changes.forEach((change, index) => indexOf.set(backendKey(change.target), index));
  const out: Dependency[] = [];
  const seen = new Set<string>();
  const add = (before: number, after: number): void => {
    const key = `${before}>${after}`;
    if (before === after || seen.has(key)) return;
    seen.add(key);
    out.push([before, after]);
  };
  changes.forEach((change, index) => {
    // Members this change lists that the set creates or updates come first.
    for (const member of listedMembers(change) ?? []) {
      const other = indexOf.get(member);
      const op = other === undefined ? undefined : changes[other]?.operation;
      if (other !== undefined && (op === 'createOrUpdate' || op === 'update')) add(other, index);
    }
    // Members this change drops from its pool that the set deletes come after it.
    const key = backendKey(change.target);
    const now = current.backends.get(key)?.members ?? [];
    if (now.length === 0) return;
    const after = new Set(membersAfter(change, current.backends.get(key)));
    for (const member of now) {
      if (after.has(member)) continue;
      const other = indexOf.get(member);
      if (other !== undefined && changes[other]?.operation === 'delete') add(index, other);
    }
  });
  return out;
}

/** A stable topological order of `count` items, or the items caught in a cycle when there is none. */
export type OrderResult = { ok: true; order: number[] } | { ok: false; cycle: number[] };

/**
 * Orders items `0..count-1` so that every dependency's `before` precedes its `after`, taking the lowest ready index
 * each time. When dependencies form a cycle, returns the items that could not be placed.
 */
export function stableTopologicalOrder(count: number, deps: readonly Dependency[]): OrderResult {
  const waitingOn = new Array<number>(count).fill(0);
  const next: number[][] = Array.from({ length: count }, () => []);
  for (const [before, after] of deps) {
    if (before < 0 || before >= count || after < 0 || after >= count) throw new RangeError('dependency out of range');
    next[before]!.push(after);
    waitingOn[after]! += 1;
  }
  const ready = new MinHeap();
  waitingOn.forEach((n, index) => {
    if (n === 0) ready.push(index);
  });
  const order: number[] = [];
  for (let item = ready.pop(); item !== undefined; item = ready.pop()) {
    order.push(item);
    for (const after of next[item]!) {
      waitingOn[after]! -= 1;
      if (waitingOn[after] === 0) ready.push(after);
    }
  }
  if (order.length === count) return { ok: true, order };
  const placed = new Set(order);
  return { ok: false, cycle: Array.from({ length: count }, (_, i) => i).filter((i) => !placed.has(i)) };
}

/** A binary min-heap of indexes (sets are small, but a sort per step would make ordering quadratic). */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
