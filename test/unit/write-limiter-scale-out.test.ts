/**
 * Several app instances, each with its own write limiter, sharing one subscription's ARM writes bucket (issue 10,
 * item 10; bench row 7 measures the same over real processes and sockets). A deterministic simulation: one token
 * bucket as the emulator keeps it, a manual clock, answers after a seeded random latency, timers that fire late as on
 * a busy machine, and every instance starting on the full bucket at the same moment.
 */
import { TokenBucket } from '../../local/arm-emulator/token-bucket';
import { createWriteLimiter } from '../../shared/adapters/arm/write-limiter';
import { ManualClock } from '../support/manual-clock';

const START = Date.parse('2025-03-01T12:00:00Z');
const SUB = '00000000-0000-0000-0000-000000000000';
const BUCKET = { capacity: 20, refillPerSecond: 10 };
const WRITES = 300;
const IDEAL_MS = ((WRITES - BUCKET.capacity) / BUCKET.refillPerSecond) * 1000;

/** A small seeded generator (numbers in [0, 1)), so that every run sees the same latencies. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Scenario {
  instances: number;
  concurrency: number;
  seed: number;
  /** Answer latency bounds, ms; ARM counts the write halfway. */
  latencyMs: [number, number];
  /** Timers fire up to this late, ms. */
  lateMs: number;
}

/** Runs the writes, split evenly, from `instances` limiters at `concurrency` each; retries each 429 after Retry-After. */
async function simulate(s: Scenario): Promise<{ throttled: number; done: number; ms: number }> {
  const random = seeded(s.seed);
  const clock = new ManualClock(START, () => Math.floor(random() * s.lateMs));
  const bucket = new TokenBucket(BUCKET, START);
  let throttled = 0;
  let done = 0;
  let finishedAt = 0;
  const write = async (limiter: ReturnType<typeof createWriteLimiter>): Promise<void> => {
    for (;;) {
      const wait = await limiter.acquire(SUB);
      if (wait.kind !== 'granted') throw new Error(`no permit: ${wait.kind}`);
      const latency = s.latencyMs[0] + Math.floor(random() * (s.latencyMs[1] - s.latencyMs[0]));
      await clock.sleep(Math.floor(latency / 2));
      const taken = bucket.take(clock.now());
      await clock.sleep(latency - Math.floor(latency / 2));
      if (taken.ok) {
        wait.permit.settle({ throttled: false, remaining: taken.remaining });
        done += 1;
        if (done === WRITES) finishedAt = clock.now();
        return;
      }
      throttled += 1;
      wait.permit.settle({ throttled: true, remaining: 0, retryAfterMs: taken.retryAfterSeconds * 1000 });
      await clock.sleep(taken.retryAfterSeconds * 1000);
    }
  };
  const share = WRITES / s.instances;
  const instances = Array.from({ length: s.instances }, async () => {
    const limiter = createWriteLimiter({ clock });
    let next = 0;
    await Promise.all(
      Array.from({ length: s.concurrency }, async () => {
        while (next < share) {
          next += 1;
          await write(limiter);
        }
      }),
    );
  });
  await clock.runUntil(() => done === WRITES, START + 10 * IDEAL_MS);
  await Promise.all(instances);
  return { throttled, done, ms: finishedAt - START };
}

describe('4 instances × 8 concurrent writes starting together on one bucket (20, 10/s), 300 writes', () => {
  const scenarios: Scenario[] = [
    { instances: 4, concurrency: 8, seed: 1, latencyMs: [3, 30], lateMs: 8 },
    { instances: 4, concurrency: 8, seed: 2, latencyMs: [20, 120], lateMs: 2 },
    { instances: 4, concurrency: 8, seed: 3, latencyMs: [5, 60], lateMs: 15 },
  ];
  it.each(scenarios)(
    'at most 5 % 429s, within 1.15× the ideal time, none lost (seed $seed, latency $latencyMs ms)',
    async (scenario) => {
      const { throttled, done, ms } = await simulate(scenario);
      expect(done).toBe(WRITES);
      expect(throttled / WRITES).toBeLessThanOrEqual(0.05);
      expect(ms).toBeLessThanOrEqual(1.15 * IDEAL_MS);
    },
  );
});

describe('one instance alone (bench row 6)', () => {
  it('32 concurrent writes: at most 5 % 429s, within 1.15× the ideal time', async () => {
    const { throttled, done, ms } = await simulate({
      instances: 1,
      concurrency: 32,
      seed: 4,
      latencyMs: [3, 30],
      lateMs: 8,
    });
    expect(done).toBe(WRITES);
    expect(throttled / WRITES).toBeLessThanOrEqual(0.05);
    expect(ms).toBeLessThanOrEqual(1.15 * IDEAL_MS);
  });
});
