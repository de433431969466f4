/**
 * This process's share of a subscription's ARM writes, estimated from the shared `remaining` reading. Pure: functions
 * of (share state, reading, now) → new state; no clock reads.
 *
 * Several app instances (and other tools) spend one subscription's writes bucket, and each sees only the `remaining`
 * figure on its own answers. Between two readings the bucket lost (earlier − later) tokens and gained the refill
 * since; what this process's own answered writes do not explain was spent by other writers:
 *
 *   others = (remaining then − remaining now) + refill × elapsed − own writes answered in between
 *
 * Summed over consecutive readings the differences telescope, so the integer flooring of `remaining` and the exact
 * moment ARM measured it cost at most a token overall rather than one per window. Both sums decay with time (other
 * writers come and go), and start from a prior of one writer like us among {@link PRIOR_WRITERS}: until readings say
 * otherwise, this process assumes it is one of a few instances starting together, the case that overruns a bucket.
 */

/** The writers assumed before any evidence; this process counts on 1 / PRIOR_WRITERS of the bucket until then. */
const PRIOR_WRITERS = 4;
/**
 * What the prior weighs, in writes per writer: the first few readings (a burst of our own writes reaching ARM side by
 * side, which shows no other writer) must not talk this process into a large share at once.
 */
const PRIOR_WEIGHT = 2;
const PRIOR = PRIOR_WRITERS * PRIOR_WEIGHT;
/** How long evidence counts, ms: the sums decay by e every TIME_CONSTANT_MS. */
const TIME_CONSTANT_MS = 3_000;
/** The smallest share counted on, so that a writer among many still gets (and sees) some answers. */
const MIN_SHARE = 0.05;

/** The share estimate's state. */
export interface WriterShare {
  /** Own writes ARM counted (decayed), and other writers' (decayed), as of `at`. */
  readonly own: number;
  readonly others: number;
  readonly at: number;
  /** The last `remaining` reading (undefined before the first) and when it came. */
  readonly lastRemaining: number | undefined;
  readonly lastAt: number;
}

/** No evidence yet: one writer among {@link PRIOR_WRITERS}. */
export const initialShare: WriterShare = { own: 0, others: 0, at: 0, lastRemaining: undefined, lastAt: 0 };

/** The fraction of the bucket's refill (and of what it holds) this process may count on, in [MIN_SHARE, 1]. */
export function shareOf(s: WriterShare): number {
  const share = (s.own + PRIOR_WEIGHT) / (s.own + s.others + PRIOR);
  return Math.min(1, Math.max(MIN_SHARE, share));
}

/**
 * The estimate after a `remaining` reading at `now`.
 *
 * @param ownTakes - own writes answered since the last reading, this one's included (each took a token after it).
 * @param refillPerMs - the bucket's refill rate, tokens per ms.
 * @param capacity - what the bucket holds at most (a lower bound): it does not refill past it.
 */
export function withReading(
  s: WriterShare,
  now: number,
  remaining: number,
  ownTakes: number,
  refillPerMs: number,
  capacity: number,
): WriterShare {
  const last = s.lastRemaining;
  if (last === undefined) return { own: s.own, others: s.others, at: now, lastRemaining: remaining, lastAt: now };
  const elapsed = Math.max(0, now - s.lastAt);
  const refill = Math.min(elapsed * refillPerMs, Math.max(0, capacity - last));
  const spentByOthers = last - remaining + refill - ownTakes;
  const decay = Math.exp(-Math.max(0, now - s.at) / TIME_CONSTANT_MS);
  return {
    own: s.own * decay + ownTakes,
    // A negative difference (a refill faster than assumed, answers out of order) cancels earlier excess, no more.
    others: Math.max(0, s.others * decay + spentByOthers),
    at: now,
    lastRemaining: remaining,
    lastAt: now,
  };
}

/** Half the share: a 429 says other writers spend more of the bucket than the readings showed. */
export function halved(s: WriterShare): WriterShare {
  // (own + w) / (own + others' + n·w) = share / 2  ⇔  others' = 2 · (own + others + n·w) − own − n·w.
  const others = 2 * (s.own + s.others + PRIOR) - s.own - PRIOR;
  return { own: s.own, others, at: s.at, lastRemaining: s.lastRemaining, lastAt: s.lastAt };
}
