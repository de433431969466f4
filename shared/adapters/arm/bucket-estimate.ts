/**
 * A pure model of one subscription's ARM writes bucket as this process sees it: how many writes may go now, and
 * when the next one may. Functions of (estimate, observation, now) → new estimate; no timers, no clock reads.
 *
 * ARM keeps a token bucket per subscription (writes: 200, refilled 10/s), reports what is left in
 * `x-ms-ratelimit-remaining-subscription-writes` on every answer, and answers 429 with `Retry-After` when it is
 * empty. The tokens a new write may use now:
 *
 *   tokens = share × (what ARM last reported − reserve) − (writes in flight) + (refill since, at share × rate)
 *
 * never more than the bucket was ever seen to hold. `share` is this process's part of the bucket (writer-share.ts):
 * other instances spend it too, and each sees only the figure on its own answers. A write may go while
 * `tokens ≥ 1`; before ARM's first answer only a probe goes out (instances may start together on one full bucket),
 * and an ARM that sends no figure is trusted optimistically. A 429 pauses everyone until its Retry-After. Every answer
 * re-anchors on ARM's figure, so errors never accumulate, and spending below one's share costs nothing while the
 * bucket is not full: the unspent refill shows in the next reading. Rates are in tokens per millisecond.
 */
import type { WriteObservation } from './rate-limit-headers';
import { halved, initialShare, shareOf, withReading, type WriterShare } from './writer-share';

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
/** Writes let out before ARM has reported anything: a probe, not the whole bucket a lone process could spend. */
const PROBE_WRITES = 2;
/** Tokens left in the bucket for the imprecision of shares and readings (and for other writers' writes in flight). */
const RESERVE = 2;
/** Weight of a new answer's latency in the moving average. */
const LATENCY_WEIGHT = 0.2;
/** Bounds on a learned rate, tokens per ms: a wild sample must not stall writers or unleash a burst. */
const MIN_RATE = 0.05 / 1000;
const MAX_RATE = 10_000 / 1000;
/** Float slack: a refill that lands a hair under one token still releases the waiter it was timed for. */
const EPSILON = 1e-9;

/** One subscription's bucket as this process sees it. */
export interface BucketEstimate {
  /** Tokens a new write may use as of `at`; undefined while ARM has reported nothing (see `probing`). */
  readonly tokens: number | undefined;
  readonly at: number;
  /** Whether no answer came yet: then at most {@link PROBE_WRITES} go out; afterwards unknown means optimistic. */
  readonly probing: boolean;
  /** A lower bound of the bucket's capacity: the most ARM ever reported left, plus the write that was answered. */
  readonly capacity: number;
  /** Whether ARM ever reported the remaining budget; until then the capacity is unknown, not 1. */
  readonly capacityKnown: boolean;
  /** ARM's documented refill: the bucket's refill until readings show a faster one. */
  readonly defaultRate: number;
  /** The bucket's refill rate: the documented one, or faster when learned. */
  readonly rate: number;
  /** The refill the readings showed this process (less what other writers took), smoothed; undefined until then. */
  readonly learnedRate: number | undefined;
  /** This process's share of the bucket (other writers spend the rest). */
  readonly share: WriterShare;
  /** Own writes answered (each took a token) since the last reading. */
  readonly takesSinceReading: number;
  /** Typical time from letting a write out to its answer, ms (moving average). */
  readonly latency: number;
  /** Writes let out and not yet settled. */
  readonly inFlight: number;
  /** No write goes out before this time (a 429's Retry-After). */
  readonly pausedUntil: number;
  /** Rate learning: where the current sample window started (undefined: none), and the writes answered since. */
  readonly anchorAt: number | undefined;
  readonly anchorRemaining: number;
  readonly anchorTakes: number;
  /** The last reading (undefined before the first) and when it came. */
  readonly lastRemaining: number | undefined;
  readonly lastAt: number;
}

type Draft = { -readonly [K in keyof BucketEstimate]: BucketEstimate[K] };

/** A copy to change. Every field spelled out: one allocation, one object shape, on the path every write takes. */
function draft(e: BucketEstimate): Draft {
  return {
    tokens: e.tokens,
    at: e.at,
    probing: e.probing,
    capacity: e.capacity,
    capacityKnown: e.capacityKnown,
    defaultRate: e.defaultRate,
    rate: e.rate,
    learnedRate: e.learnedRate,
    share: e.share,
    takesSinceReading: e.takesSinceReading,
    latency: e.latency,
    inFlight: e.inFlight,
    pausedUntil: e.pausedUntil,
    anchorAt: e.anchorAt,
    anchorRemaining: e.anchorRemaining,
    anchorTakes: e.anchorTakes,
    lastRemaining: e.lastRemaining,
    lastAt: e.lastAt,
  };
}

/** What nobody has reported yet: a probe may go, paced at `defaultRate` (tokens per ms) once anything is known. */
export function initialEstimate(defaultRate: number): BucketEstimate {
  return {
    tokens: undefined,
    at: 0,
    probing: true,
    capacity: 1,
    capacityKnown: false,
    defaultRate,
    rate: defaultRate,
    learnedRate: undefined,
    share: initialShare,
    takesSinceReading: 0,
    latency: 0,
    inFlight: 0,
    pausedUntil: 0,
    anchorAt: undefined,
    anchorRemaining: 0,
    anchorTakes: 0,
    lastRemaining: undefined,
    lastAt: 0,
  };
}

/** The rate this process paces its writes at: its share of the refill, a margin below (the estimates are noisy). */
function paceOf(e: BucketEstimate): number {
  return e.rate * shareOf(e.share) * LEARNED_RATE_MARGIN;
}

/**
 * The most `tokens` can be: the bucket never holds more than its capacity, less a token for each write in flight
 * that the refill during a write's travel (latency × rate) does not make up for.
 */
function bound(e: BucketEstimate): number {
  // Without a reported figure (an ARM that sends no remaining header, 429s alone), the refill since the pause is
  // the only limit: after Retry-After, ARM's bucket holds at least pause × rate tokens.
  if (!e.capacityKnown) return Number.POSITIVE_INFINITY;
  return e.capacity - Math.max(0, e.inFlight - paceOf(e) * e.latency);
}

/** `tokens` at `now`: the refill since `at` added, never past {@link bound}. */
function tokensAt(e: BucketEstimate, now: number): number | undefined {
  const elapsed = now - e.at;
  if (e.tokens === undefined || elapsed <= 0) return e.tokens;
  const limit = bound(e);
  return e.tokens < limit ? Math.min(limit, e.tokens + elapsed * paceOf(e)) : e.tokens;
}

/** The estimate brought up to `now`: the refill since it was last brought up to date added. */
export function refilled(e: BucketEstimate, now: number): BucketEstimate {
  if (now <= e.at) return e;
  const next = draft(e);
  next.tokens = tokensAt(e, now);
  next.at = now;
  return next;
}

/** Whether a write may go at `now`, with `tokens` as of `now`. */
function mayGo(e: BucketEstimate, now: number, tokens: number | undefined): boolean {
  if (now < e.pausedUntil) return false;
  if (tokens === undefined) return !e.probing || e.inFlight < PROBE_WRITES;
  return tokens >= 1 - EPSILON;
}

/** The estimate after letting one write out at `now`, or undefined when none may go now. */
export function admit(e: BucketEstimate, now: number): BucketEstimate | undefined {
  const tokens = tokensAt(e, now);
  if (!mayGo(e, now, tokens)) return undefined;
  const next = draft(e);
  next.tokens = tokens === undefined ? undefined : tokens - 1;
  next.at = Math.max(e.at, now);
  next.inFlight = e.inFlight + 1;
  return next;
}

/**
 * When the next write may go: `now` or later, or undefined when only an answer can free a token (or nothing is
 * known, so nothing holds a write back but a pause).
 */
export function nextSendAt(e: BucketEstimate, now: number): number | undefined {
  // Not before a pause ends, and then not before the refill allows.
  const from = Math.max(now, e.pausedUntil);
  const tokens = tokensAt(e, from);
  if (tokens === undefined) return from > now ? from : undefined;
  if (tokens >= 1 - EPSILON) return from;
  // Capped below one token: only an answer can free one.
  if (bound(e) < 1 - EPSILON) return undefined;
  return from + Math.ceil((1 - tokens) / paceOf(e));
}

/** How long a waiter at `position` in the queue (0 = next) should expect to wait from `now`, in ms. */
export function expectedWait(e: BucketEstimate, now: number, position: number): number {
  const pauseWait = Math.max(0, e.pausedUntil - now);
  const tokens = tokensAt(e, now);
  if (tokens === undefined) return Math.ceil(pauseWait);
  const short = position + 1 - tokens;
  return Math.ceil(Math.max(pauseWait, short > 0 ? short / paceOf(e) : 0));
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
  const next = draft(e);
  next.inFlight = e.inFlight - 1;
  if (observation !== undefined) observe(next, now, observation, sentAt);
  return next;
}

/** The estimate after a remaining-writes figure seen outside a permitted write (e.g. on a read's answer). */
export function noted(e: BucketEstimate, now: number, remaining: number): BucketEstimate {
  const next = draft(e);
  observe(next, now, { throttled: false, remaining }, undefined);
  return next;
}

/**
 * Re-anchors `e` on what ARM reported, learns the rate and the share, and pauses on a 429.
 *
 * @param sentAt - when the answered write was let out; undefined for a figure seen on a read.
 */
function observe(e: Draft, now: number, observation: WriteObservation, sentAt: number | undefined): void {
  e.tokens = tokensAt(e, now);
  e.at = Math.max(e.at, now);
  const { throttled } = observation;
  if (sentAt !== undefined) {
    e.probing = false;
    const span = Math.max(0, now - sentAt);
    e.latency = e.latency === 0 ? span : e.latency + LATENCY_WEIGHT * (span - e.latency);
  }
  if (throttled) {
    // A new throttling episode for a write we let out: we overrate our share of the bucket (other writers spend
    // more of it than the readings showed). Halve the share once per episode, not once per 429 of the same burst.
    if (sentAt !== undefined && now >= e.pausedUntil) e.share = halved(e.share);
    e.pausedUntil = Math.max(e.pausedUntil, now + (observation.retryAfterMs ?? DEFAULT_PAUSE_MS));
  }
  const took = sentAt !== undefined && !throttled;
  if (took) {
    e.anchorTakes += 1;
    e.takesSinceReading += 1;
  }
  // A 429 means the bucket is empty even when ARM did not say so.
  const remaining = observation.remaining ?? (throttled ? 0 : undefined);
  if (remaining === undefined) {
    // An answer without the header: this ARM does not report the budget, so only 429s can teach us anything.
    // Back to optimistic, as before the first answer; the pause (if any) still holds.
    if (took) e.tokens = undefined;
    return;
  }
  if (observation.remaining !== undefined) e.capacityKnown = true;
  e.capacity = Math.max(e.capacity, took ? remaining + 1 : remaining);
  learnRate(e, now, remaining);
  e.share = withReading(e.share, now, remaining, e.takesSinceReading, e.rate, e.capacity);
  e.takesSinceReading = 0;
  e.probing = false;
  // ARM measured `remaining` somewhere between our send and its answer; the writes still in flight each take a
  // token, and were (mostly) sent after it. Wherever in that span the measurement fell, a write sent now lands
  // after refill worth the span: writes are as far from ARM's bucket as the answered one was. Of what the bucket
  // holds above the reserve, only this process's share is its to spend.
  const credit = throttled || sentAt === undefined ? 0 : Math.max(0, now - sentAt) * paceOf(e);
  const mine = shareOf(e.share) * (remaining - RESERVE);
  e.tokens = Math.min(mine + credit - e.inFlight, bound(e));
  e.at = now;
}

/**
 * Learns the refill rate from how `remaining` moved over a window, given the writes answered in it:
 * rate = (remaining now − remaining then + writes answered) / elapsed. Only windows in which the bucket cannot
 * have been full count; a full bucket stops refilling and would make the rate look lower than it is. Other writers
 * make a window's rate look lower too; their part is the share's business, so the bucket's refill is never taken
 * to be below the documented one.
 */
function learnRate(e: Draft, now: number, remaining: number): void {
  const lastRemaining = e.lastRemaining;
  const lastAt = e.lastAt;
  e.lastRemaining = remaining;
  e.lastAt = now;
  const fastest = 2 * Math.max(e.rate, e.defaultRate);
  const mayHaveFilled =
    lastRemaining === undefined ||
    lastRemaining + fastest * (now - lastAt) >= e.capacity - 1 ||
    remaining >= e.capacity - 1;
  if (mayHaveFilled || e.anchorAt === undefined) {
    e.anchorAt = mayHaveFilled ? undefined : now;
    e.anchorRemaining = remaining;
    e.anchorTakes = 0;
    return;
  }
  const span = now - e.anchorAt;
  if (!((e.anchorTakes >= SAMPLE_TAKES && span >= MIN_SAMPLE_MS) || span >= MAX_SAMPLE_MS)) return;
  const sample = (remaining - e.anchorRemaining + e.anchorTakes) / span;
  e.anchorAt = now;
  e.anchorRemaining = remaining;
  e.anchorTakes = 0;
  const learned = e.learnedRate === undefined ? sample : e.learnedRate + SAMPLE_WEIGHT * (sample - e.learnedRate);
  e.learnedRate = Math.min(MAX_RATE, Math.max(MIN_RATE, learned));
  e.rate = Math.max(e.defaultRate, e.learnedRate);
}
