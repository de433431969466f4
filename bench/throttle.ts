/**
 * Row 6, riding ARM's write throttle: N writes at concurrency 32 through the ARM client against an emulator whose
 * writes bucket holds `capacity` tokens refilled at `refillPerSecond` — with the process-wide write limiter
 * (`createWriteLimiter`), and without it beside. The ideal time is (N − capacity) / refill: no client can beat it.
 */
import { createWriteLimiter } from '../shared/adapters/arm/write-limiter';
import type { BucketOptions } from '../local/arm-emulator';
import type { ChildEmulator } from './child-emulator';
import { benchArmClient } from './engine-deps';
import { round, runPool } from './stats';
import { benchBody, benchTarget } from './workload';

/** The time no client can beat: the bucket's capacity at once, then the rest at the refill rate. */
export function idealSeconds(writes: number, bucket: BucketOptions): number {
  return Math.max(0, writes - bucket.capacity) / bucket.refillPerSecond;
}

/** Long enough that no write is given up (lost) in the run without the limiter. */
const CALL_DEADLINE_MS = 120_000;

/** One run's measurements. */
export interface ThrottleSeries {
  seconds: number;
  /** seconds / ideal seconds. */
  ofIdeal: number;
  /** 429 answers the emulator sent, and as a share of the writes. */
  throttled: number;
  throttledShare: number;
  /** Writes that did not succeed before the deadline. */
  lost: number;
  /** Every request the emulator saw (retries included). */
  requestsSeen: number;
}

/** What row 6 measured. */
export interface ThrottleResult {
  writes: number;
  concurrency: number;
  bucket: BucketOptions;
  idealSeconds: number;
  withLimiter: ThrottleSeries;
  withoutLimiter: ThrottleSeries;
}

async function runWrites(
  emulator: ChildEmulator,
  writes: number,
  concurrency: number,
  idealSeconds: number,
  limiter: boolean,
): Promise<ThrottleSeries> {
  await emulator.reset(); // a full bucket, an empty log
  const arm = benchArmClient(emulator, {
    deadlineMs: CALL_DEADLINE_MS,
    ...(limiter ? { writeLimiter: createWriteLimiter() } : {}),
  });
  let lost = 0;
  const tag = limiter ? 'limited' : 'unlimited';
  const started = performance.now();
  await runPool(writes, concurrency, async (i) => {
    const result = await arm.createOrUpdate(benchTarget(i), benchBody(i, tag));
    if (result.kind !== 'ok') lost += 1;
  });
  const seconds = (performance.now() - started) / 1000;
  const stats = await emulator.stats();
  const throttled = stats.byStatus['429'] ?? 0;
  return {
    seconds: round(seconds, 2),
    ofIdeal: round(seconds / idealSeconds, 3),
    throttled,
    throttledShare: round(throttled / writes, 4),
    lost,
    requestsSeen: stats.total,
  };
}

/**
 * Runs the writes with the limiter, then without, against `emulator` (started with `throttle.writes = bucket` and
 * request logging on).
 */
export async function measureThrottle(
  emulator: ChildEmulator,
  options: { writes: number; concurrency: number; bucket: BucketOptions },
): Promise<ThrottleResult> {
  const { writes, concurrency, bucket } = options;
  const ideal = idealSeconds(writes, bucket);
  const withLimiter = await runWrites(emulator, writes, concurrency, ideal, true);
  const withoutLimiter = await runWrites(emulator, writes, concurrency, ideal, false);
  return { writes, concurrency, bucket, idealSeconds: round(ideal, 2), withLimiter, withoutLimiter };
}
