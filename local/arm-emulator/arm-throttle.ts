import { TokenBucket } from './token-bucket';
import type { ArmEmulatorOptions, BucketOptions } from './types';

type BucketKind = 'reads' | 'writes' | 'deletes';

/** What throttling decided: the remaining-budget headers, and a wait when the bucket was empty. */
export interface ThrottleDecision {
  headers: Record<string, string>;
  refused?: { kind: BucketKind; retryAfterSeconds: number };
}

/**
 * Budgets reported when the test configured none, as recorded from real ARM: every answer carries the remaining
 * `-reads`/`-writes`/`-deletes` of the subscription and the `-global-*` figure (e.g. writes 799 / global 11999,
 * reads 1100 / 16500). Only configured buckets refuse: these report, and never throttle.
 */
const REPORTED: Record<BucketKind, BucketOptions> = {
  writes: { capacity: 800, refillPerSecond: 800 },
  reads: { capacity: 1100, refillPerSecond: 1100 },
  deletes: { capacity: 800, refillPerSecond: 800 },
};
const GLOBAL: Record<BucketKind, BucketOptions> = {
  writes: { capacity: 12000, refillPerSecond: 12000 },
  reads: { capacity: 16500, refillPerSecond: 16500 },
  deletes: { capacity: 12000, refillPerSecond: 12000 },
};

/**
 * ARM's per-subscription request budgets: one token bucket per subscription and kind. GET/HEAD are reads;
 * PUT/PATCH/POST are writes; DELETE is a delete (a write when only a writes bucket is configured, so that a test
 * throttling writes throttles deletes too). Every answer reports what is left, throttled or not.
 */
export class ArmThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: NonNullable<ArmEmulatorOptions['throttle']>,
    private readonly now: () => number,
  ) {}

  /** Takes a token for the request from its bucket and its global bucket. */
  take(subscriptionId: string, method: string): ThrottleDecision {
    const kind = this.kindOf(method);
    const configured: BucketOptions | undefined = this.options[kind];
    const now = this.now();
    const local = this.bucket(`${kind}:${subscriptionId.toLowerCase()}`, configured ?? REPORTED[kind], now);
    const global = this.bucket(`global-${kind}:${subscriptionId.toLowerCase()}`, GLOBAL[kind], now);
    const header = `x-ms-ratelimit-remaining-subscription-${kind}`;
    const globalHeader = `x-ms-ratelimit-remaining-subscription-global-${kind}`;
    const result = local.take(now);
    // Only a configured bucket refuses: the reported defaults exist for their headers, and a benchmark that sends
    // thousands of writes a second must not be throttled by a budget it never asked for.
    if (!result.ok && !configured) {
      return { headers: { [header]: '0', [globalHeader]: String(global.peek(now)) } };
    }
    if (!result.ok) {
      return {
        headers: { [header]: '0', [globalHeader]: String(global.peek(now)) },
        refused: { kind, retryAfterSeconds: result.retryAfterSeconds },
      };
    }
    const globalResult = global.take(now);
    return {
      headers: {
        [header]: String(result.remaining),
        [globalHeader]: String(globalResult.ok ? globalResult.remaining : 0),
      },
    };
  }

  /** The headers of an answer that took no token (an injected fault answered before the request was handled). */
  peek(subscriptionId: string, method: string): Record<string, string> {
    const kind = this.kindOf(method);
    const now = this.now();
    const sub = subscriptionId.toLowerCase();
    const local = this.bucket(`${kind}:${sub}`, this.options[kind] ?? REPORTED[kind], now);
    const global = this.bucket(`global-${kind}:${sub}`, GLOBAL[kind], now);
    return {
      [`x-ms-ratelimit-remaining-subscription-${kind}`]: String(local.peek(now)),
      [`x-ms-ratelimit-remaining-subscription-global-${kind}`]: String(global.peek(now)),
    };
  }

  /** Refills every bucket (they are recreated full on next use). */
  reset(): void {
    this.buckets.clear();
  }

  private bucket(key: string, options: BucketOptions, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(options, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private kindOf(method: string): BucketKind {
    if (method === 'GET' || method === 'HEAD') return 'reads';
    if (method === 'DELETE' && (this.options.deletes || !this.options.writes)) return 'deletes';
    return 'writes';
  }
}
