import type { ObservableResult } from '@opentelemetry/api';
import type { AttributeValue, Attributes } from '../../app/telemetry-ports';

/** As the SDK's default cardinality limit: past this many attribute sets, further ones are summed in one overflow set. */
const MAX_SETS = 2000;
const OVERFLOW: Readonly<Record<string, AttributeValue>> = { 'otel.metric.overflow': true };

/**
 * A counter summed here and read by the SDK at each collection (an observable counter): counting is one short key
 * and a Map lookup, where the SDK's synchronous counter sorts and JSON-encodes the attributes on every add. Counts
 * come on the hot path (each change, each ARM send); collections come once a minute.
 */
export class SummedCounter {
  private readonly sums = new Map<string, { attributes: Readonly<Record<string, AttributeValue>>; value: number }>();

  add(value: number, attributes: Attributes | undefined): void {
    let key = '';
    for (const name in attributes) {
      const attribute = attributes[name];
      // The type is part of the key: 429 and '429' are different attribute values.
      if (attribute !== undefined) key += `${name}\u0000${typeof attribute}\u0000${String(attribute)}\u0001`;
    }
    const sum = this.sums.get(key);
    if (sum !== undefined) {
      sum.value += value;
      return;
    }
    if (this.sums.size >= MAX_SETS) {
      this.add(value, OVERFLOW);
      return;
    }
    const kept: Record<string, AttributeValue> = {};
    for (const name in attributes) {
      const attribute = attributes[name];
      if (attribute !== undefined) kept[name] = attribute;
    }
    this.sums.set(key, { attributes: kept, value });
  }

  /** Reports every attribute set's running total (the same set named in another key order is merged). */
  observe(result: ObservableResult): void {
    const merged = new Map<string, { attributes: Readonly<Record<string, AttributeValue>>; value: number }>();
    for (const { attributes, value } of this.sums.values()) {
      const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const seen = merged.get(key);
      if (seen === undefined) merged.set(key, { attributes, value });
      else seen.value += value;
    }
    for (const { attributes, value } of merged.values()) result.observe(value, attributes);
  }
}
