/**
 * A pure model of one subscription's ARM writes bucket as this process sees it: how many writes may go now, and
 * when the next one may. Functions of (estimate, observation, now) → new estimate; no timers, no clock reads.
 *
 * ARM keeps a token bucket per subscription (and principal and region): writes 200, refilled 10/s. Every answer
 * reports what is left in `x-ms-ratelimit-remaining-subscription-writes`; an empty bucket answers 429 with
 * `Retry-After`, and retrying sooner only earns another 429. The estimate of the tokens a new write may use now is
 *
 *   tokens = (what ARM last reported) − (writes still in flight) + (refill since, at the learned rate)
 *
 * never more than the bucket was ever seen to hold (so an idle spell does not license a burst ARM cannot take).
 * A write may go while `tokens ≥ 1` (or while nothing is known yet: optimistic until ARM has said anything). A 429
 * pauses everyone until its Retry-After. Every answer re-anchors the estimate on ARM's own figure, so errors never
 * accumulate: a refill rate guessed too low costs almost nothing (the next answer shows the extra tokens), one guessed
 * too high is corrected at the next answer. The rate itself is learned from how `remaining` moves over time against
 * the writes answered meanwhile (which also nets out other processes spending the same bucket), falling back to ARM's
 * documented 10/s. Rates are in tokens per millisecond.
 */
import type { WriteObservation } from './rate-limit-headers';

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
/** Factor a rate is cut by when the shared bucket shows no refill left for this process. */
const CONTENDED_BACKOFF = 0.5;
/** Factor a rate is cut by on a new throttling episode: a 429 is the strongest sign of a shared bucket. */
const THROTTLED_BACKOFF = 0.5;
/** Factor a backed-off rate grows by with each answer that shows the bucket at least half full (unused refill). */
const PLENTY_GROWTH = 1.05;
/** Weight of a new answer's latency in the moving average. */
const LATENCY_WEIGHT = 0.2;
/** Bounds on a learned rate, tokens per ms: a wild sample must not stall writers or unleash a burst. */
const MIN_RATE = 0.05 / 1000;
const MAX_RATE = 10_000 / 1000;
/** Float slack: a refill that lands a hair under one token still releases the waiter it was timed for. */
const EPSILON = 1e-9;

/** One subscription's bucket as this process sees it. */
export interface BucketEstimate {
  /** Tokens a new write may use as of `at`; undefined until ARM has reported anything (optimistic). */
  readonly tokens: number | undefined;
  readonly at: number;
  /** A lower bound of the bucket's capacity: the most ARM ever reported left, plus the write that was answered. */
  readonly capacity: number;
  /** Whether ARM ever reported the remaining budget; until then the capacity is unknown, not 1. */
  readonly capacityKnown: boolean;
  /** ARM's documented refill, the fallback and the ceiling of a backed-off rate. */
  readonly defaultRate: number;
  /** The refill rate available to this process: the documented one until one is learned. */
  readonly rate: number;
  readonly rateLearned: boolean;
  /** The rate writes are paced at: the refill rate, less a margin once it is a noisy estimate. */
  readonly pace: number;
  /** Typical time from letting a write out to its answer, ms (moving average). */
  readonly latency: number;
  /** Writes let out and not yet settled. */
  readonly inFlight: number;
  /** No write goes out before this time (a 429's Retry-After). */
  readonly pausedUntil: number;
  /** Rate learning: where the current sample window started, and the writes answered since. */
  readonly anchor: { readonly at: number; readonly remaining: number; readonly takes: number } | undefined;
  readonly lastSeen: { readonly at: number; readonly remaining: number } | undefined;
}

/** What nobody has reported yet: optimistic, paced at `defaultRate` (tokens per ms) once anything is known. */
export function initialEstimate(defaultRate: number): BucketEstimate {
  return {
    tokens: undefined,
    at: 0,
    capacity: 1,
    capacityKnown: false,
    defaultRate,
    rate: defaultRate,
    rateLearned: false,
    pace: defaultRate,
    latency: 0,
    inFlight: 0,
    pausedUntil: 0,
    anchor: undefined,
    lastSeen: undefined,
  };
}

/**
 * The most `tokens` can be: the bucket never holds more than its capacity, less a token for each write in flight
 * that the refill during a write's travel (latency × rate) does not make up for.
 */
function bound(e: BucketEstimate): number {
  // Without a reported figure (an ARM that sends no remaining header, 429s alone), the refill since the pause is
  // the only limit: after Retry-After, ARM's bucket holds at least pause × rate tokens.
  if (!e.capacityKnown) return Number.POSITIVE_INFINITY;
  return e.capacity - Math.max(0, e.inFlight - e.pace * e.latency);
}

/** The estimate at `now`: the refill since it was last brought up to date added, never past {@link bound}. */
export function refilled(e: BucketEstimate, now: number): BucketEstimate {
  const elapsed = now - e.at;
  if (elapsed <= 0) return e;
  if (e.tokens === undefined) return { ...e, at: now };
  const limit = bound(e);
  const tokens = e.tokens < limit ? Math.min(limit, e.tokens + elapsed * e.pace) : e.tokens;
  return { ...e, at: now, tokens };
}

/** Whether a write may go at `now` (of an estimate already {@link refilled} to `now`). */
function mayGo(e: BucketEstimate, now: number): boolean {
  return now >= e.pausedUntil && (e.tokens === undefined || e.tokens >= 1 - EPSILON);
}

/** The estimate after letting one write out at `now`, or undefined when none may go now. */
export function admit(e: BucketEstimate, now: number): BucketEstimate | undefined {
  const current = refilled(e, now);
  if (!mayGo(current, now)) return undefined;
  return {
    ...current,
    tokens: current.tokens === undefined ? undefined : current.tokens - 1,
    inFlight: current.inFlight + 1,
  };
}

/**
 * When the next write may go: `now` or later, or undefined when only an answer can free a token (or nothing is
 * known, so nothing holds a write back but a pause).
 */
export function nextSendAt(e: BucketEstimate, now: number): number | undefined {
  // Not before a pause ends, and then not before the refill allows.
  const from = Math.max(now, e.pausedUntil);
  const current = refilled(e, from);
  if (current.tokens === undefined) return from > now ? from : undefined;
  if (current.tokens >= 1 - EPSILON) return from;
  // Capped below one token: only an answer can free one.
  if (bound(current) < 1 - EPSILON) return undefined;
  return from + Math.ceil((1 - current.tokens) / current.pace);
}

/** How long a waiter at `position` in the queue (0 = next) should expect to wait from `now`, in ms. */
export function expectedWait(e: BucketEstimate, now: number, position: number): number {
  const pauseWait = Math.max(0, e.pausedUntil - now);
  const current = refilled(e, now);
  if (current.tokens === undefined) return Math.ceil(pauseWait);
  const short = position + 1 - current.tokens;
  return Math.ceil(Math.max(pauseWait, short > 0 ? short / current.pace : 0));
}

/**
 * The estimate after a write let out at `sentAt` ended at `now`: `observation` is what its answer said, undefined
 * when it got none (a network failure, an abort).
 */
export function settled(
  e: BucketEstimate,
  now: number,
  sentAt: number,
  observation: WriteObservation | undefined,
): BucketEstimate {
  const less = { ...e, inFlight: e.inFlight - 1 };
  return observation === undefined ? less : observed(less, now, observation, sentAt);
}

/** The estimate after a remaining-writes figure seen outside a permitted write (e.g. on a read's answer). */
export function noted(e: BucketEstimate, now: number, remaining: number): BucketEstimate {
  return observed(e, now, { throttled: false, remaining }, undefined);
}

/**
 * Re-anchors the estimate on what ARM reported, learns the rate, and pauses on a 429.
 *
 * @param sentAt - when the answered write was let out; undefined for a figure seen on a read.
 */
function observed(
  before: BucketEstimate,
  now: number,
  observation: WriteObservation,
  sentAt: number | undefined,
): BucketEstimate {
  let e = refilled(before, now);
  const { throttled } = observation;
  if (throttled) {
    // A new throttling episode for a write we let out: we overrate our share of the bucket (other instances
    // spend it too). Halve the pace once per episode, not once per 429 of the same burst.
    if (sentAt !== undefined && now >= e.pausedUntil) e = withRate(e, Math.max(MIN_RATE, e.rate * THROTTLED_BACKOFF));
    const pause = observation.retryAfterMs ?? DEFAULT_PAUSE_MS;
    e = { ...e, pausedUntil: Math.max(e.pausedUntil, now + pause) };
  }
  // A 429 means the bucket is empty even when ARM did not say so.
  const remaining = observation.remaining ?? (throttled ? 0 : undefined);
  const took = sentAt !== undefined && !throttled;
  if (sentAt !== undefined) {
    const span = Math.max(0, now - sentAt);
    e = { ...e, latency: e.latency === 0 ? span : e.latency + LATENCY_WEIGHT * (span - e.latency) };
  }
  if (took && e.anchor !== undefined) e = { ...e, anchor: { ...e.anchor, takes: e.anchor.takes + 1 } };
  if (observation.remaining !== undefined) e = { ...e, capacityKnown: true };
  if (remaining !== undefined) {
    e = { ...e, capacity: Math.max(e.capacity, took ? remaining + 1 : remaining) };
    e = learnRate(e, now, remaining);
    // A backed-off rate with the bucket at least half full: the refill goes unused (the other instances slowed down
    // too, or left). Grow back; a full bucket teaches nothing else (no rate sample while it may have filled).
    if (took && e.capacityKnown && remaining >= e.capacity / 2 && e.rate < e.defaultRate) {
      e = withRate(e, Math.min(e.defaultRate, e.rate * PLENTY_GROWTH), e.rateLearned);
    }
    // ARM measured `remaining` somewhere between our send and its answer; the writes still in flight each take a
    // token, and were (mostly) sent after it. Wherever in that span the measurement fell, a write sent now lands
    // after refill worth the span: writes are as far from ARM's bucket as the answered one was.
    const credit = throttled || sentAt === undefined ? 0 : Math.max(0, now - sentAt) * e.pace;
    const share = Math.min(1, e.rate / e.defaultRate);
    e = { ...e, tokens: Math.min(remaining * share + credit - e.inFlight, bound(e)), at: now };
  } else if (took) {
    // An answer without the header: this ARM does not report the budget, so only 429s can teach us anything.
    // Back to optimistic, as before the first answer; the pause (if any) still holds.
    e = { ...e, tokens: undefined };
  }
  return e;
}

/** The estimate with a new refill rate, paced a margin below it (a learned rate is a noisy estimate). */
function withRate(e: BucketEstimate, rate: number, learned = true): BucketEstimate {
  return { ...e, rate, rateLearned: learned, pace: rate * LEARNED_RATE_MARGIN };
}

/**
 * Learns the refill rate from how `remaining` moved over a window, given the writes answered in it:
 * rate = (remaining now − remaining then + writes answered) / elapsed. Only windows in which the bucket cannot
 * have been full count; a full bucket stops refilling and would make the rate look lower than it is.
 */
function learnRate(e: BucketEstimate, now: number, remaining: number): BucketEstimate {
  const last = e.lastSeen;
  const seen = { ...e, lastSeen: { at: now, remaining } };
  const fastest = 2 * Math.max(e.rate, e.defaultRate);
  const mayHaveFilled =
    last === undefined || last.remaining + fastest * (now - last.at) >= e.capacity - 1 || remaining >= e.capacity - 1;
  const anchor = e.anchor;
  if (mayHaveFilled || anchor === undefined) {
    return { ...seen, anchor: mayHaveFilled ? undefined : { at: now, remaining, takes: 0 } };
  }
  const span = now - anchor.at;
  if (!((anchor.takes >= SAMPLE_TAKES && span >= MIN_SAMPLE_MS) || span >= MAX_SAMPLE_MS)) return seen;
  const sample = (remaining - anchor.remaining + anchor.takes) / span;
  const sampled = { ...seen, anchor: { at: now, remaining, takes: 0 } };
  // No refill left for us (other processes spend the shared bucket at least as fast as it refills): halve our
  // share rather than ignore the reading, or every process keeps pacing at the whole refill rate.
  const next =
    sample > 0
      ? e.rateLearned
        ? e.rate + SAMPLE_WEIGHT * (sample - e.rate)
        : sample
      : Math.max(MIN_RATE, e.rate * CONTENDED_BACKOFF);
  return withRate(sampled, Math.min(MAX_RATE, Math.max(MIN_RATE, next)));
}
