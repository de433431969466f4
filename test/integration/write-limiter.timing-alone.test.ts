// Named *.timing-alone.test.ts: npm test runs it after the other suites, alone, because its 429 count depends on the
// limiter's timers firing on time, which Jest workers sharing two cores can delay.
/**
 * The write limiter against the ARM emulator's token bucket (scaled down from ARM's 200 writes at 10/s so the test is
 * quick): many concurrent PUTs should finish about as fast as the bucket allows, with hardly any 429s, where the
 * client without the budget keeps crashing into the bucket.
 */
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';
import { createArmBackendClient } from '../../shared/adapters/arm/arm-client';
import { createArmCredential } from '../../shared/adapters/arm/credential';
import { createWriteLimiter, type WriteLimiter } from '../../shared/adapters/arm/write-limiter';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const CAPACITY = 20;
const REFILL_PER_SECOND = 25; // not ARM's documented 10/s: the budget has to learn it
const WRITES = 100;
const CONCURRENCY = 24; // more than the bucket holds, as in the benchmark (32 against 20)
const IDEAL_MS = ((WRITES - CAPACITY) / REFILL_PER_SECOND) * 1000;

let emulator: ArmEmulator;

beforeAll(async () => {
  emulator = await startArmEmulator({
    throttle: { writes: { capacity: CAPACITY, refillPerSecond: REFILL_PER_SECOND } },
  });
});

afterAll(async () => {
  await emulator.stop();
});

interface Run {
  ms: number;
  ok: number;
  requests: number;
  throttled: number;
}

/** PUTs `WRITES` distinct backends from `CONCURRENCY` workers; counts what the emulator saw. */
async function run(writeLimiter: WriteLimiter | undefined): Promise<Run> {
  emulator.reset(); // a full bucket, an empty request log
  const client = createArmBackendClient({
    endpoint: emulator.url,
    apiVersion: '2024-05-01',
    credential: createArmCredential({ endpoint: emulator.url, accessToken: emulator.token }),
    caCertPem: emulator.caCertPem,
    perAttemptTimeoutMs: 5_000,
    deadlineMs: 30_000,
    ...(writeLimiter === undefined ? {} : { writeLimiter }),
  });
  let next = 0;
  let ok = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < WRITES) {
        const i = next++;
        const result = await client.createOrUpdate(
          { subscriptionId: SUBSCRIPTION, resourceGroupName: 'rg1', serviceName: 'apim1', backendId: `b${i}` },
          { properties: { url: `https://b${i}.example`, protocol: 'http' } },
        );
        if (result.kind === 'ok') ok += 1;
      }
    }),
  );
  const ms = Date.now() - started;
  const throttled = emulator.requests.filter((r) => r.status === 429).length;
  return { ms, ok, requests: emulator.requests.length, throttled };
}

it('rides the bucket: close to the ideal time, few 429s, none lost — and far fewer 429s than without it', async () => {
  const budget = createWriteLimiter();
  const limited = await run(budget);
  const unlimited = await run(undefined);
  console.log(
    `${WRITES} PUTs at concurrency ${CONCURRENCY}, bucket ${CAPACITY} refilling ${REFILL_PER_SECOND}/s ` +
      `(ideal ${IDEAL_MS} ms):\n` +
      `  with the write limiter:    ${limited.ms} ms (${(limited.ms / IDEAL_MS).toFixed(2)}× ideal), ` +
      `${limited.throttled} 429s of ${limited.requests} requests; learned ` +
      `${budget.refillPerSecond(SUBSCRIPTION).toFixed(1)}/s\n` +
      `  without the write limiter: ${unlimited.ms} ms (${(unlimited.ms / IDEAL_MS).toFixed(2)}× ideal), ` +
      `${unlimited.throttled} 429s of ${unlimited.requests} requests`,
  );

  expect(limited.ok).toBe(WRITES);
  expect(limited.ms).toBeLessThanOrEqual(1.2 * IDEAL_MS);
  // The first burst is let out before ARM has said anything (CONCURRENCY − CAPACITY 429s at most); pacing adds ~none.
  expect(limited.throttled).toBeLessThanOrEqual(0.05 * limited.requests);

  expect(unlimited.ok).toBe(WRITES);
  expect(unlimited.throttled).toBeGreaterThan(2 * limited.throttled);
});
