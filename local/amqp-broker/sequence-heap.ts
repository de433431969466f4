/** Something with a position in an entity's order. */
export interface Sequenced {
  readonly sequenceNumber: number;
}

/**
 * A binary min-heap ordered by sequence number: the entity's available messages. Abandoned or expired
 * messages go back to their original place in the order (as in Service Bus) in O(log n), where an
 * array would need an O(n) insert.
 */
export class SequenceHeap<T extends Sequenced> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as T;
      if (p.sequenceNumber <= item.sequenceNumber) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  /** The item with the lowest sequence number, left in place. */
  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (items[right] as T).sequenceNumber < (items[left] as T).sequenceNumber) child = right;
      const c = items[child] as T;
      if (c.sequenceNumber >= last.sequenceNumber) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** The items in no particular order (for inspection). */
  values(): readonly T[] {
    return this.items;
  }
}
