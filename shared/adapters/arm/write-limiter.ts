/**
 * A client-side model of ARM's per-subscription write bucket, so that concurrent writers ride the throttle instead of
 * crashing into it.
 *
 * ARM keeps a token bucket per subscription (and principal and region): writes 200, refilled 10/s. Every answer
 * reports what is left in `x-ms-ratelimit-remaining-subscription-writes`; an empty bucket answers 429 with
 * `Retry-After`, and retrying sooner only earns another 429. This module keeps, per subscription, an estimate of the
 * tokens a new write may use now:
 *
 *   tokens = (what ARM last reported) − (writes still in flight) + (refill since, at the learned rate)
 *
 * never more than the bucket was ever seen to hold (so an idle spell does not license a burst ARM cannot take).
 * A write goes out at once while `tokens ≥ 1` (or while nothing is known yet: optimistic until ARM has said
 * anything); otherwise it waits in a FIFO queue that one timer releases at the refill rate. A 429 pauses everyone
 * until its Retry-After. Every answer re-anchors the estimate on ARM's own figure, so errors never accumulate: a
 * refill rate guessed too low costs almost nothing (the next answer shows the extra tokens and releases them), one
 * guessed too high is corrected at the next answer. The rate itself is learned from how `remaining` moves over time
 * against the writes answered meanwhile (which also nets out other processes spending the same bucket), falling back
 * to ARM's documented 10/s.
 *
 * The hot path (budget unknown or plentiful) is O(1): a map lookup and some arithmetic, no timers. Reads are never
 * gated here. State is kept per subscription for the life of the budget (a handful of subscriptions per process).
 */
import type { Clock } from '../../app/clock-ports';
import type { HeaderReader } from './retry-after';
import { systemClock } from '../system-clock';

/** ARM's documented refill of the subscription writes bucket, tokens per second. */
export const DEFAULT_WRITE_REFILL_PER_SECOND = 10;

/** The header carrying the tokens left in the subscription's writes bucket. */
export const REMAINING_WRITES_HEADER = 'x-ms-ratelimit-remaining-subscription-writes';
/** The header carrying the tokens left in the subscription's deletes bucket (a separate bucket in public ARM). */
export const REMAINING_DELETES_HEADER = 'x-ms-ratelimit-remaining-subscription-deletes';

/** How long to pause after a 429 that gave no Retry-After: ARM answers in whole seconds, so one second. */
const DEFAULT_PAUSE_MS = 1_000;
/** A rate sample needs this many answered writes (floored `remaining` makes short windows noisy)… */
const SAMPLE_TAKES = 5;
/** …and at least this long, or is taken anyway after the longer span (slow traffic). */
const MIN_SAMPLE_MS = 250;
const MAX_SAMPLE_MS = 1_000;
/** Weight of a new rate sample against the current estimate. */
const SAMPLE_WEIGHT = 0.3;
/**
 * A learned rate is paced at this fraction of itself. Pacing a little slow costs next to nothing (each answer shows
 * the extra tokens and releases them); pacing a little fast earns a 429 and a whole-second pause.
 */
const LEARNED_RATE_MARGIN = 0.95;
/** Factor a rate is cut by when the shared bucket shows no refill left for this process, or on a 429. */
const CONTENDED_BACKOFF = 0.5;
/** Factor a rate is cut by on a new throttling episode: a 429 is the strongest sign of a shared bucket. */
const THROTTLED_BACKOFF = 0.5;
/** Factor a backed-off rate grows by with each answer that shows the bucket at least half full (unused refill). */
const PLENTY_GROWTH = 1.05;

/** Weight of a new answer's latency in the moving average. */
const LATENCY_WEIGHT = 0.2;
/** Bounds on a learned rate, tokens per second: a wild sample must not stall writers or unleash a burst. */
const MIN_RATE_PER_SECOND = 0.05;
const MAX_RATE_PER_SECOND = 10_000;
/** Float slack: a refill that lands a hair under one token still releases the waiter it was timed for. */
const EPSILON = 1e-9;

/** What an answer to a write said about the writes bucket. */
export interface WriteObservation {
  /** ARM refused the write because the writes bucket was empty (429). */
  throttled: boolean;
  /** `x-ms-ratelimit-remaining-subscription-writes`, when present. */
  remaining?: number | undefined;
  /** ARM's Retry-After advice in ms, for a throttled write. */
  retryAfterMs?: number | undefined;
}

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
export interface LimiterWaitOptions {
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
export interface WriteLimiterOptions {
  /** Default: systemClock. */
  clock?: Clock;
  /** The refill rate assumed until one is learned; default 10/s, ARM's documented write refill. */
  defaultRefillPerSecond?: number;
}

/** Parses a remaining-budget header: a non-negative integer, else undefined. */
function parseRemaining(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * What an answer to a write tells the write limiter, or undefined when it tells nothing about the writes bucket
 * (a DELETE answered from ARM's separate deletes bucket).
 *
 * @param method - the HTTP method of the write.
 * @param status - the answer's status.
 * @param headers - the answer's headers.
 * @param retryAfterMs - the Retry-After advice already read from the headers (see `retryAfterMsFromHeaders`).
 */
export function writeObservationOf(
  method: string,
  status: number,
  headers: HeaderReader,
  retryAfterMs: number | undefined,
): WriteObservation | undefined {
  const remaining = parseRemaining(headers.get(REMAINING_WRITES_HEADER));
  if (remaining === undefined && method === 'DELETE' && headers.get(REMAINING_DELETES_HEADER) !== undefined) {
    return undefined;
  }
  if (status === 429) return { throttled: true, remaining, retryAfterMs };
  return { throttled: false, remaining };
}

/** `remaining` from the writes header of any answer, for {@link WriteLimiter.noteRemaining}. */
export function remainingWritesOf(headers: HeaderReader): number | undefined {
  return parseRemaining(headers.get(REMAINING_WRITES_HEADER));
}

interface Waiter {
  finish(result: LimiterWait): void;
}

/** One subscription's bucket as this process sees it. Rates are in tokens per millisecond. */
class SubscriptionBudget {
  /** Tokens a new write may use as of `at`; undefined until ARM has reported anything (optimistic). */
  private tokens: number | undefined;
  private at = 0;
  /** A lower bound of the bucket's capacity: the most ARM ever reported left, plus the write that was answered. */
  private capacity = 1;
  /** Whether ARM ever reported the remaining budget; until then the capacity is unknown, not 1. */
  private capacityKnown = false;
  /** The refill rate: ARM's documented one until one is learned. */
  private rate: number;
  private rateLearned = false;
  /** The rate writes are paced at: the refill rate, less a margin once it is a noisy estimate. */
  private pace: number;
  /** Typical time from letting a write out to its answer, ms (moving average). */
  private latency = 0;
  /** Writes let out and not yet settled. */
  private inFlight = 0;
  /** No write goes out before this time (a 429's Retry-After). */
  private pausedUntil = 0;
  private readonly queue: Waiter[] = [];
  private timer: AbortController | undefined;
  private timerAt = 0;
  /** Rate learning: where the current sample window started, and the writes answered since. */
  private anchor: { at: number; remaining: number; takes: number } | undefined;
  private lastSeen: { at: number; remaining: number } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly defaultRate: number,
  ) {
    this.rate = defaultRate;
    this.pace = defaultRate;
  }

  acquire(options: LimiterWaitOptions): Promise<LimiterWait> {
    const { signal, deadline } = options;
    if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
    const now = this.clock.now();
    if (this.queue.length === 0 && now >= this.pausedUntil) {
      this.refill(now);
      if (this.mayGo()) return Promise.resolve({ kind: 'granted', permit: this.grant() });
    }
    // Refuse at once only when ARM itself said so: its Retry-After pause alone passes the deadline. A wait that is
    // merely predicted from pacing is not refused early: under a storm of 429s the prediction is pessimistic, and a
    // queue message refused at once is redelivered at once, burning its deliveries. The deadline timer ends the wait.
    if (deadline !== undefined && this.pausedUntil > deadline) {
      return Promise.resolve({ kind: 'deadline', retryAfterMs: this.estimateWait(now, this.queue.length) });
    }
    return this.enqueue(now, signal, deadline);
  }

  /** Whether a write may go now: while nothing is known (optimistic) or a token is left. */
  private mayGo(): boolean {
    return this.tokens === undefined || this.tokens >= 1 - EPSILON;
  }

  /**
   * The share of ARM's reported `remaining` this process may count on: its learned share of the refill. Alone, the
   * whole bucket; with other instances spending the same bucket, about its part of it.
   */
  private share(): number {
    return Math.min(1, this.rate / this.defaultRate);
  }

  noteRemaining(remaining: number): void {
    const now = this.clock.now();
    this.observe(now, { throttled: false, remaining }, undefined);
  }

  /** A write let out at `sentAt` ended: `observation` is what its answer said, undefined when it got none. */
  settle(observation: WriteObservation | undefined, sentAt: number): void {
    this.inFlight -= 1;
    const now = this.clock.now();
    if (observation !== undefined) this.observe(now, observation, sentAt);
    else if (this.queue.length > 0) this.pump();
  }

  private enqueue(now: number, signal: AbortSignal | undefined, deadline: number | undefined): Promise<LimiterWait> {
    return new Promise<LimiterWait>((resolve) => {
      const deadlineTimer = deadline === undefined ? undefined : new AbortController();
      let done = false;
      const onAbort = (): void => {
        this.remove(waiter);
        waiter.finish({ kind: 'aborted' });
      };
      const waiter: Waiter = {
        finish: (result) => {
          if (done) return;
          done = true;
          signal?.removeEventListener('abort', onAbort);
          deadlineTimer?.abort();
          resolve(result);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== undefined && deadlineTimer !== undefined) {
        this.clock.sleep(Math.max(0, deadline - now), deadlineTimer.signal).then(
          () => {
            if (done) return;
            const position = this.queue.indexOf(waiter);
            this.remove(waiter);
            const at = this.clock.now();
            waiter.finish({ kind: 'deadline', retryAfterMs: this.estimateWait(at, Math.max(0, position)) });
          },
          () => undefined, // cancelled: the waiter was released or aborted first
        );
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  private remove(waiter: Waiter): void {
    const index = this.queue.indexOf(waiter);
    if (index !== -1) this.queue.splice(index, 1);
    if (this.queue.length === 0) this.disarm();
  }

  private grant(): WritePermit {
    if (this.tokens !== undefined) this.tokens -= 1;
    this.inFlight += 1;

    const sentAt = this.clock.now();
    let settled = false;
    return {
      settle: (observation) => {
        if (settled) return;
        settled = true;
        this.settle(observation, sentAt);
      },
    };
  }

  /** Releases every waiter the budget allows now, then arms the timer for the next one. */
  private pump(): void {
    const now = this.clock.now();
    if (now < this.pausedUntil) {
      this.arm(this.pausedUntil, now);
      return;
    }
    this.refill(now);
    while (this.queue.length > 0 && this.mayGo()) {
      this.queue.shift()?.finish({ kind: 'granted', permit: this.grant() });
    }
    if (this.queue.length === 0 || this.tokens === undefined) {
      this.disarm();
      return;
    }
    // Capped below one token: only an answer can free one, and every answer pumps.
    if (this.bound() < 1 - EPSILON) {
      this.disarm();
      return;
    }
    this.arm(now + Math.ceil((1 - this.tokens) / this.pace), now);
  }

  private arm(at: number, now: number): void {
    if (this.timer !== undefined && this.timerAt === at) return;
    this.disarm();
    const timer = new AbortController();
    this.timer = timer;
    this.timerAt = at;
    this.clock.sleep(Math.max(0, at - now), timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.pump();
      },
      () => undefined, // re-armed or no longer needed
    );
  }

  private disarm(): void {
    this.timer?.abort();
    this.timer = undefined;
  }

  /**
   * The most `tokens` can be: the bucket never holds more than its capacity, less a token for each write in flight
   * that the refill during a write's travel (latency × rate) does not make up for.
   */
  private bound(): number {
    // Without a reported figure (an ARM that sends no remaining header, 429s alone), the refill since the pause is
    // the only limit: after Retry-After, ARM's bucket holds at least pause × rate tokens.
    if (!this.capacityKnown) return Number.POSITIVE_INFINITY;
    return this.capacity - Math.max(0, this.inFlight - this.pace * this.latency);
  }

  /** Adds the refill since `at`, never past {@link bound}. */
  private refill(now: number): void {
    const elapsed = now - this.at;
    if (elapsed <= 0) return;
    this.at = now;
    if (this.tokens === undefined) return;
    const bound = this.bound();
    if (this.tokens < bound) this.tokens = Math.min(bound, this.tokens + elapsed * this.pace);
  }

  /** How long a waiter at `position` in the queue should expect to wait, in ms. */
  private estimateWait(now: number, position: number): number {
    const pauseWait = Math.max(0, this.pausedUntil - now);
    if (this.tokens === undefined) return Math.ceil(pauseWait);
    this.refill(now);
    const short = position + 1 - this.tokens;
    return Math.ceil(Math.max(pauseWait, short > 0 ? short / this.pace : 0));
  }

  /**
   * Re-anchors the estimate on what ARM reported, learns the rate, and pauses on a 429.
   *
   * @param sentAt - when the answered write was let out; undefined for a figure seen on a read.
   */
  private observe(now: number, observation: WriteObservation, sentAt: number | undefined): void {
    this.refill(now);
    const { throttled } = observation;
    if (throttled) {
      // A new throttling episode for a write we let out: we overrate our share of the bucket (other instances
      // spend it too). Halve the pace once per episode, not once per 429 of the same burst.
      if (sentAt !== undefined && now >= this.pausedUntil) this.backOff();
      const pause = observation.retryAfterMs ?? DEFAULT_PAUSE_MS;
      this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    }
    // A 429 means the bucket is empty even when ARM did not say so.
    const remaining = observation.remaining ?? (throttled ? 0 : undefined);
    const took = sentAt !== undefined && !throttled;
    if (sentAt !== undefined) {
      const span = Math.max(0, now - sentAt);
      this.latency = this.latency === 0 ? span : this.latency + LATENCY_WEIGHT * (span - this.latency);
    }
    if (took && this.anchor !== undefined) this.anchor.takes += 1;
    if (observation.remaining !== undefined) this.capacityKnown = true;
    if (remaining !== undefined) {
      this.capacity = Math.max(this.capacity, took ? remaining + 1 : remaining);
      this.learnRate(now, remaining);
      // A backed-off rate with the bucket at least half full: the refill goes unused (the other instances slowed down
      // too, or left). Grow back; a full bucket teaches nothing else (no rate sample while it may have filled).
      if (took && this.capacityKnown && remaining >= this.capacity / 2 && this.rate < this.defaultRate) {
        this.rate = Math.min(this.defaultRate, this.rate * PLENTY_GROWTH);
        this.pace = this.rate * LEARNED_RATE_MARGIN;
      }
      // ARM measured `remaining` somewhere between our send and its answer; the writes still in flight each take a
      // token, and were (mostly) sent after it. Wherever in that span the measurement fell, a write sent now lands
      // after refill worth the span: writes are as far from ARM's bucket as the answered one was.
      const credit = throttled || sentAt === undefined ? 0 : Math.max(0, now - sentAt) * this.pace;
      this.tokens = Math.min(remaining * this.share() + credit - this.inFlight, this.bound());
      this.at = now;
    } else if (took) {
      // An answer without the header: this ARM does not report the budget, so only 429s can teach us anything.
      // Back to optimistic, as before the first answer; the pause (if any) still holds.
      this.tokens = undefined;
    }
    if (this.queue.length > 0) this.pump();
  }

  /**
   * Learns the refill rate from how `remaining` moved over a window, given the writes answered in it:
   * rate = (remaining now − remaining then + writes answered) / elapsed. Only windows in which the bucket cannot
   * have been full count; a full bucket stops refilling and would make the rate look lower than it is.
   */
  private learnRate(now: number, remaining: number): void {
    const last = this.lastSeen;
    this.lastSeen = { at: now, remaining };
    const fastest = 2 * Math.max(this.rate, this.defaultRate);
    const mayHaveFilled =
      last === undefined ||
      last.remaining + fastest * (now - last.at) >= this.capacity - 1 ||
      remaining >= this.capacity - 1;
    const anchor = this.anchor;
    if (mayHaveFilled || anchor === undefined) {
      this.anchor = mayHaveFilled ? undefined : { at: now, remaining, takes: 0 };
      return;
    }
    const span = now - anchor.at;
    if (!((anchor.takes >= SAMPLE_TAKES && span >= MIN_SAMPLE_MS) || span >= MAX_SAMPLE_MS)) return;
    const sample = (remaining - anchor.remaining + anchor.takes) / span;
    this.anchor = { at: now, remaining, takes: 0 };
    // No refill left for us (other processes spend the shared bucket at least as fast as it refills): halve our
    // share rather than ignore the reading, or every process keeps pacing at the whole refill rate.
    const next =
      sample > 0
        ? this.rateLearned
          ? this.rate + SAMPLE_WEIGHT * (sample - this.rate)
          : sample
        : Math.max(MIN_RATE_PER_SECOND / 1000, this.rate * CONTENDED_BACKOFF);
    this.rate = Math.min(MAX_RATE_PER_SECOND / 1000, Math.max(MIN_RATE_PER_SECOND / 1000, next));
    this.rateLearned = true;
    this.pace = this.rate * LEARNED_RATE_MARGIN;
  }

  /** Multiplicative decrease of the rate (the shared bucket has less refill for us than we thought). */
  private backOff(): void {
    this.rate = Math.max(MIN_RATE_PER_SECOND / 1000, this.rate * THROTTLED_BACKOFF);
    this.rateLearned = true;
    this.pace = this.rate * LEARNED_RATE_MARGIN;
  }

  /** The refill rate in use, tokens per second (for tests and diagnostics). */
  refillPerSecond(): number {
    return this.rate * 1000;
  }
}

/** A write limiter, plus what it currently believes (for tests and diagnostics). */
export interface InspectableWriteLimiter extends WriteLimiter {
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
  const budgets = new Map<string, SubscriptionBudget>();
  const budgetOf = (subscriptionId: string): SubscriptionBudget => {
    const key = subscriptionId.toLowerCase();
    let budget = budgets.get(key);
    if (budget === undefined) {
      budget = new SubscriptionBudget(clock, defaultRate);
      budgets.set(key, budget);
    }
    return budget;
  };
  return {
    acquire: (subscriptionId, waitOptions = {}) => budgetOf(subscriptionId).acquire(waitOptions),
    noteRemaining: (subscriptionId, remaining) => budgetOf(subscriptionId).noteRemaining(remaining),
    refillPerSecond: (subscriptionId) => budgetOf(subscriptionId).refillPerSecond(),
  };
}
