import type { BucketOptions } from './types';

/** The outcome of taking a token: allowed with what remains, or refused with when to come back. */
export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/**
 * A token bucket refilled continuously, as ARM's per-subscription throttling works: `capacity` tokens at most,
 * `refillPerSecond` added per second. A refused request takes nothing.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: BucketOptions,
    now: number,
  ) {
    this.tokens = options.capacity;
    this.last = now;
  }

  /** Takes one token at time `now` (epoch ms). */
  take(now: number): TakeResult {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, remaining: Math.floor(this.tokens) };
    }
    const rate = this.options.refillPerSecond;
    // ARM answers Retry-After in whole seconds; round up so a client that obeys it finds a token.
    const seconds = rate > 0 ? Math.max(1, Math.ceil((1 - this.tokens) / rate)) : 3600;
    return { ok: false, retryAfterSeconds: seconds };
  }

  /** What is left at time `now`, taking nothing. */
  peek(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.options.capacity, this.tokens + elapsed * this.options.refillPerSecond);
  }
}
