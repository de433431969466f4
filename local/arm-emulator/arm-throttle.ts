import { TokenBucket } from './token-bucket';
import type { ArmEmulatorOptions, BucketOptions } from './types';

type BucketKind = 'reads' | 'writes' | 'deletes';

/** What throttling decided: the remaining-budget headers, and a wait when the bucket was empty. */
export interface ThrottleDecision {
  headers: Record<string, string>;
  refused?: { kind: BucketKind; retryAfterSeconds: number };
}

/**
 * ARM's per-subscription request budgets: one token bucket per subscription and kind. GET/HEAD are reads;
 * PUT/PATCH/POST are writes; DELETE is a delete when a deletes bucket is configured, otherwise a write.
 */
export class ArmThrottle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: NonNullable<ArmEmulatorOptions['throttle']>,
    private readonly now: () => number,
  ) {}

  /** Takes a token for the request; no headers at all when no bucket applies to its kind. */
  take(subscriptionId: string, method: string): ThrottleDecision {
    const kind = this.kindOf(method);
    const bucketOptions: BucketOptions | undefined = this.options[kind];
    if (!bucketOptions) return { headers: {} };
    const key = `${kind}:${subscriptionId.toLowerCase()}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(bucketOptions, this.now());
      this.buckets.set(key, bucket);
    }
    const header = `x-ms-ratelimit-remaining-subscription-${kind}`;
    const result = bucket.take(this.now());
    if (result.ok) return { headers: { [header]: String(result.remaining) } };
    return { headers: { [header]: '0' }, refused: { kind, retryAfterSeconds: result.retryAfterSeconds } };
  }

  /** Refills every bucket (they are recreated full on next use). */
  reset(): void {
    this.buckets.clear();
  }

  private kindOf(method: string): BucketKind {
    if (method === 'GET' || method === 'HEAD') return 'reads';
    if (method === 'DELETE' && this.options.deletes) return 'deletes';
    return 'writes';
  }
}
