/**
 * A client-side limiter of ARM writes per subscription, so that concurrent writers ride ARM's write throttle instead
 * of crashing into it. Each subscription has a {@link BucketEstimate} (the pure model of its bucket, in
 * bucket-estimate.ts) and a {@link WaiterQueue} that releases waiting writes when the estimate allows.
 *
 * The hot path (budget unknown or plentiful) is O(1): a map lookup and some arithmetic, no timers. Reads are never
 * gated here. State is kept per subscription for the life of the limiter (a handful of subscriptions per process).
 */
import type { Clock } from '../../app/clock-ports';
import { systemClock } from '../system-clock';
import {
  admit,
  expectedWait,
  initialEstimate,
  nextSendAt,
  noted,
  settled,
  type BucketEstimate,
} from './bucket-estimate';
import type { WriteObservation } from './rate-limit-headers';
import { WaiterQueue } from './waiter-queue';

export { remainingWritesOf, writeObservationOf, type WriteObservation } from './rate-limit-headers';

/** ARM's documented refill of the subscription writes bucket, tokens per second. */
const DEFAULT_WRITE_REFILL_PER_SECOND = 10;

/** The right to send one write. Settle it once the write was answered (or failed), exactly once. */
export interface WritePermit {
  /** Reports what the answer said; undefined when there was no answer (network failure, abort). Idempotent. */
  settle(observation?: WriteObservation): void;
}

/** The outcome of waiting for the budget: a permit, or why there is none. Expected outcomes are values. */
export type LimiterWait =
  | { kind: 'granted'; permit: WritePermit }
  /** The budget would not allow a send before the deadline; `retryAfterMs` is the estimated wait from now. */
  | { kind: 'deadline'; retryAfterMs: number }
  | { kind: 'aborted' };

/** Per-call bounds of a wait: an abort signal and an absolute deadline (epoch ms). */
interface LimiterWaitOptions {
  signal?: AbortSignal | undefined;
  deadline?: number | undefined;
}

/** A process-wide write limiter shared by every ARM call of the process, keyed by subscription. */
export interface WriteLimiter {
  /** Waits until a write to `subscriptionId` may be sent (at once while the budget is unknown or plentiful). */
  acquire(subscriptionId: string, options?: LimiterWaitOptions): Promise<LimiterWait>;
  /** A remaining-writes figure seen outside a permitted write (e.g. on a read's answer). Never pauses anyone. */
  noteRemaining(subscriptionId: string, remaining: number): void;
}

/** How to build a write limiter. */
interface WriteLimiterOptions {
  /** Default: systemClock. */
  clock?: Clock;
  /** The refill rate assumed until one is learned; default 10/s, ARM's documented write refill. */
  defaultRefillPerSecond?: number;
}

/** One subscription: its estimate, and the writes waiting for it. */
class SubscriptionLimiter {
  private estimate: BucketEstimate;
  private readonly queue: WaiterQueue<WritePermit>;

  constructor(
    private readonly clock: Clock,
    defaultRate: number,
  ) {
    this.estimate = initialEstimate(defaultRate);
    this.queue = new WaiterQueue(clock, {
      take: (now) => this.take(now),
      nextAt: (now) => nextSendAt(this.estimate, now),
    });
  }

  async acquire(options: LimiterWaitOptions): Promise<LimiterWait> {
    const { signal, deadline } = options;
    if (signal?.aborted) return { kind: 'aborted' };
    const now = this.clock.now();
    if (this.queue.length === 0) {
      const permit = this.take(now);
      if (permit !== undefined) return { kind: 'granted', permit };
    }
    // Refuse at once only when ARM itself said so: its Retry-After pause alone passes the deadline. A wait that is
    // merely predicted from pacing is not refused early: under a storm of 429s the prediction is pessimistic, and a
    // queue message refused at once is redelivered at once, burning its deliveries. The deadline timer ends the wait.
    if (deadline !== undefined && this.estimate.pausedUntil > deadline) {
      return { kind: 'deadline', retryAfterMs: expectedWait(this.estimate, now, this.queue.length) };
    }
    const wait = await this.queue.wait(signal, deadline);
    if (wait.kind === 'granted') return { kind: 'granted', permit: wait.value };
    if (wait.kind === 'aborted') return wait;
    return { kind: 'deadline', retryAfterMs: expectedWait(this.estimate, wait.at, wait.position) };
  }

  noteRemaining(remaining: number): void {
    this.estimate = noted(this.estimate, this.clock.now(), remaining);
    this.queue.pump();
  }

  /** The refill rate in use, tokens per second (for tests and diagnostics). */
  refillPerSecond(): number {
    return this.estimate.rate * 1000;
  }

  /** A permit for a write let out at `now`, when the estimate allows one. */
  private take(now: number): WritePermit | undefined {
    const next = admit(this.estimate, now);
    if (next === undefined) return undefined;
    this.estimate = next;
    let done = false;
    return {
      settle: (observation) => {
        if (done) return;
        done = true;
        this.estimate = settled(this.estimate, this.clock.now(), now, observation);
        this.queue.pump();
      },
    };
  }
}

/** A write limiter, plus what it currently believes (for tests and diagnostics). */
interface InspectableWriteLimiter extends WriteLimiter {
  /** The refill rate in use for `subscriptionId`, tokens per second. */
  refillPerSecond(subscriptionId: string): number;
}

/**
 * Creates a write limiter. Create one per process and pass it to every ARM client of the process
 * (`createArmBackendClient({ …, writeLimiter })`), so that all writers share one view of each subscription's bucket.
 *
 * @example
 * const writeLimiter = createWriteLimiter();
 * const client = createArmBackendClient({ endpoint, apiVersion, credential, writeLimiter });
 */
export function createWriteLimiter(options: WriteLimiterOptions = {}): InspectableWriteLimiter {
  const clock = options.clock ?? systemClock;
  const defaultPerSecond = options.defaultRefillPerSecond ?? DEFAULT_WRITE_REFILL_PER_SECOND;
  if (!(defaultPerSecond > 0)) throw new RangeError('defaultRefillPerSecond must be positive');
  const defaultRate = defaultPerSecond / 1000;
  const limiters = new Map<string, SubscriptionLimiter>();
  const limiterOf = (subscriptionId: string): SubscriptionLimiter => {
    const key = subscriptionId.toLowerCase();
    let limiter = limiters.get(key);
    if (limiter === undefined) {
      limiter = new SubscriptionLimiter(clock, defaultRate);
      limiters.set(key, limiter);
    }
    return limiter;
  };
  return {
    acquire: (subscriptionId, waitOptions = {}) => limiterOf(subscriptionId).acquire(waitOptions),
    noteRemaining: (subscriptionId, remaining) => limiterOf(subscriptionId).noteRemaining(remaining),
    refillPerSecond: (subscriptionId) => limiterOf(subscriptionId).refillPerSecond(),
  };
}
