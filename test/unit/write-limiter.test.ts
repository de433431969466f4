import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { TokenBucket } from '../../local/arm-emulator/token-bucket';
import { createArmBackendClient } from '../../shared/adapters/arm/arm-client';
import { createArmCredential } from '../../shared/adapters/arm/credential';
import type { BackendTarget } from '../../shared/domain/backend-id';
import { createWriteLimiter, type LimiterWait, type WritePermit } from '../../shared/adapters/arm/write-limiter';
import { flush, ManualClock } from '../support/manual-clock';

const START = Date.parse('2025-03-01T12:00:00Z');
const SUB = '00000000-0000-0000-0000-000000000000';

/** Starts an acquire and records when (on the manual clock) it settles and how. */
function track(promise: Promise<LimiterWait>, clock: ManualClock) {
  const state: { result?: LimiterWait; at?: number } = {};
  void promise.then((result) => {
    state.result = result;
    state.at = clock.now();
  });
  return state;
}

/** Like {@link track}, and when the write is let out ARM answers it at once, reporting `remaining()` left. */
function trackAnswered(promise: Promise<LimiterWait>, clock: ManualClock, remaining: () => number) {
  return track(
    promise.then((wait) => {
      if (wait.kind === 'granted') wait.permit.settle({ throttled: false, remaining: remaining() });
      return wait;
    }),
    clock,
  );
}

function permitOf(wait: LimiterWait | undefined): WritePermit {
  if (wait?.kind !== 'granted') throw new Error(`expected a permit, got ${wait?.kind ?? 'nothing yet'}`);
  return wait.permit;
}

/** A budget that has seen one answered write reporting `remaining`, with nothing in flight. */
async function budgetWithRemaining(remaining: number, clock = new ManualClock(START)) {
  const budget = createWriteLimiter({ clock });
  permitOf(await budget.acquire(SUB)).settle({ throttled: false, remaining });
  return { budget, clock };
}

describe('before ARM has said anything, and while the budget is plentiful', () => {
  it('lets a probe of two writes out before ARM has reported anything, and the rest at its first answer', async () => {
    const clock = new ManualClock(START);
    const budget = createWriteLimiter({ clock });
    // Every instance of the app may be starting on the same full bucket at once: a probe, not the whole burst.
    const waits = Array.from({ length: 40 }, () => track(budget.acquire(SUB), clock));
    await flush();
    expect(waits.filter((w) => w.result?.kind === 'granted')).toHaveLength(2);
    expect(clock.pending).toBe(0); // only an answer can release the rest: no timer
    // ARM's answer shows a plentiful bucket (its documented 200, less this write): the rest go at once.
    permitOf(waits[0]!.result).settle({ throttled: false, remaining: 199 });
    await flush();
    expect(waits.every((w) => w.result?.kind === 'granted')).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('lets writes out at once, without timers, while ARM reports plenty left', async () => {
    const { budget, clock } = await budgetWithRemaining(199);
    const waits = await Promise.all(Array.from({ length: 40 }, () => budget.acquire(SUB)));
    expect(waits.every((w) => w.kind === 'granted')).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('counts on a share of what is left, not all of it, until readings show nobody else spends it', async () => {
    const { budget, clock } = await budgetWithRemaining(40);
    // Four instances starting together each see about this figure; each spending it all would overrun it 4×.
    const waits = Array.from({ length: 40 }, () => track(budget.acquire(SUB), clock));
    await flush();
    const granted = waits.filter((w) => w.result?.kind === 'granted').length;
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThanOrEqual(10);
  });

  it('goes back to optimistic when answers stop carrying the remaining header', async () => {
    const { budget, clock } = await budgetWithRemaining(10);
    permitOf(await budget.acquire(SUB)).settle({ throttled: false }); // no header on this answer
    const waits = await Promise.all(Array.from({ length: 5 }, () => budget.acquire(SUB)));
    expect(waits.every((w) => w.kind === 'granted')).toBe(true);
    expect(clock.pending).toBe(0);
  });
});

/** The ms between consecutive grants. */
const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('pacing when the budget is low', () => {
  it('releases queued writes one by one, no faster than the documented 10/s, when nothing else is known', async () => {
    const { budget, clock } = await budgetWithRemaining(0);
    const waits = Array.from({ length: 4 }, () => trackAnswered(budget.acquire(SUB), clock, () => 0));
    await clock.advance(99);
    expect(waits.filter((w) => w.result)).toHaveLength(0);
    await clock.advance(3_000);
    expect(waits.map((w) => w.result?.kind)).toEqual(['granted', 'granted', 'granted', 'granted']);
    for (const gap of gaps(waits.map((w) => w.at!))) expect(gap).toBeGreaterThanOrEqual(100);
  });

  it('paces faster with a faster configured default refill rate', async () => {
    const paced = async (defaultRefillPerSecond: number): Promise<number> => {
      const clock = new ManualClock(START);
      const budget = createWriteLimiter({ clock, defaultRefillPerSecond });
      permitOf(await budget.acquire(SUB)).settle({ throttled: false, remaining: 0 });
      const waits = Array.from({ length: 3 }, () => trackAnswered(budget.acquire(SUB), clock, () => 0));
      await clock.advance(10_000);
      return waits[2]!.at! - START;
    };
    const slow = await paced(10);
    const fast = await paced(50);
    expect(fast * 5).toBeGreaterThan(slow * 0.9);
    expect(fast * 5).toBeLessThan(slow * 1.1);
  });

  it('counts writes in flight: a remaining figure measured before them is spent by them', async () => {
    const clock = new ManualClock(START);
    const budget = createWriteLimiter({ clock });
    const probes = await Promise.all([budget.acquire(SUB), budget.acquire(SUB)]);
    // The first answer says 9 left, of which this process counts on a share; the other probe is still on its way
    // and will take one of them.
    permitOf(probes[0]).settle({ throttled: false, remaining: 9 });
    const next = track(budget.acquire(SUB), clock);
    await flush();
    expect(next.result).toBeUndefined();
    // Once the probe's answer shows it took its token and nobody else spent any, the share covers another write.
    permitOf(probes[1]).settle({ throttled: false, remaining: 8 });
    await flush();
    expect(next.result?.kind).toBe('granted');
  });

  it('re-anchors on every answer: more left than modelled releases waiters at once', async () => {
    const { budget, clock } = await budgetWithRemaining(0);
    const first = track(budget.acquire(SUB), clock);
    const second = track(budget.acquire(SUB), clock);
    await clock.runUntil(() => first.result !== undefined, START + 10_000);
    expect(first.result?.kind).toBe('granted');
    expect(second.result).toBeUndefined();
    // ARM refills faster than assumed: its answer shows plenty more.
    permitOf(first.result).settle({ throttled: false, remaining: 15 });
    await flush();
    expect(second.result?.kind).toBe('granted');
    expect(second.at).toBe(first.at);
  });

  it('never lets more out after an idle spell than the bucket was seen to hold', async () => {
    const { budget, clock } = await budgetWithRemaining(4); // capacity at least 5
    await clock.advance(60_000);
    const waits = Array.from({ length: 7 }, () => track(budget.acquire(SUB), clock));
    await flush();
    expect(waits.filter((w) => w.result?.kind === 'granted')).toHaveLength(5);
  });

  it('learns a faster refill from how remaining moves, and paces a simulated ARM bucket without 429s', async () => {
    const clock = new ManualClock(START);
    const budget = createWriteLimiter({ clock });
    const bucket = new TokenBucket({ capacity: 20, refillPerSecond: 40 }, clock.now());
    let throttled = 0;
    let done = 0;
    const ANSWER_MS = 5;
    const write = async (): Promise<void> => {
      for (;;) {
        const permit = permitOf(await budget.acquire(SUB));
        await clock.sleep(ANSWER_MS);
        const taken = bucket.take(clock.now());
        if (taken.ok) {
          permit.settle({ throttled: false, remaining: taken.remaining });
          done += 1;
          return;
        }
        throttled += 1;
        permit.settle({ throttled: true, remaining: 0, retryAfterMs: taken.retryAfterSeconds * 1000 });
        await clock.sleep(taken.retryAfterSeconds * 1000);
      }
    };
    // Concurrency 8 < capacity 20, so even the optimistic start does not overshoot.
    let next = 0;
    const workers = Array.from({ length: 8 }, async () => {
      while (next < 220) {
        next += 1;
        await write();
      }
    });
    const all = Promise.all(workers);
    await clock.advance(6_000);
    await all;
    expect(done).toBe(220);
    expect(throttled).toBe(0);
    // Ideal: (220 − 20) / 40 = 5 s.
    expect(clock.now() - START).toBeLessThanOrEqual(6_000);
    expect(budget.refillPerSecond(SUB)).toBeGreaterThan(36);
    expect(budget.refillPerSecond(SUB)).toBeLessThan(44);
  });
});

describe('429 and Retry-After', () => {
  it('pauses every writer of the subscription until Retry-After, then resumes no faster than the refill', async () => {
    const { budget, clock } = await budgetWithRemaining(9); // capacity at least 10
    const permit = permitOf(await budget.acquire(SUB));
    permit.settle({ throttled: true, remaining: 0, retryAfterMs: 3_000 });
    // After the pause ARM has 10 tokens; its answers count them down.
    let left = 10;
    const waits = Array.from({ length: 12 }, () =>
      trackAnswered(budget.acquire(SUB), clock, () => Math.max(0, (left -= 1))),
    );
    await clock.advance(2_999);
    expect(waits.filter((w) => w.result)).toHaveLength(0);
    await clock.advance(1);
    // 3 s at 10/s would be 30 tokens, but the bucket holds at most the 10 it was seen to hold; and a 429 is a sign
    // that others spend it too, so this process counts on less of it.
    const atOnce = waits.filter((w) => w.result?.kind === 'granted').length;
    expect(atOnce).toBeGreaterThanOrEqual(1);
    expect(atOnce).toBeLessThan(10);
    await clock.advance(20_000);
    expect(waits.filter((w) => w.result?.kind === 'granted')).toHaveLength(12);
  });

  it('pauses even before any remaining figure was seen, then lets out what the refill allows', async () => {
    const clock = new ManualClock(START);
    const budget = createWriteLimiter({ clock });
    permitOf(await budget.acquire(SUB)).settle({ throttled: true, retryAfterMs: 1_000 });
    let left = 10;
    const waits = Array.from({ length: 15 }, () =>
      trackAnswered(budget.acquire(SUB), clock, () => Math.max(0, (left -= 1))),
    );
    await clock.advance(999);
    expect(waits.filter((w) => w.result)).toHaveLength(0);
    // The 429 emptied the bucket: a second of refill at ARM's documented 10/s holds 10 at most, not all 15.
    await clock.advance(1);
    expect(waits.filter((w) => w.result?.kind === 'granted').length).toBeLessThanOrEqual(10);
    await clock.advance(30_000);
    expect(waits.filter((w) => w.result?.kind === 'granted')).toHaveLength(15);
  });
});

describe('subscriptions', () => {
  it('keeps one budget per subscription, compared case-insensitively', async () => {
    const clock = new ManualClock(START);
    const budget = createWriteLimiter({ clock });
    permitOf(await budget.acquire('SUB-A')).settle({ throttled: true, remaining: 0, retryAfterMs: 5_000 });
    const sameA = track(budget.acquire('sub-a'), clock);
    const otherB = track(budget.acquire('sub-b'), clock);
    await flush();
    expect(otherB.result?.kind).toBe('granted');
    expect(sameA.result).toBeUndefined();
    await clock.advance(5_000);
    expect(sameA.result?.kind).toBe('granted');
  });
});

describe('abort and deadline', () => {
  it('an aborted wait ends at once, and does not use up a later slot', async () => {
    const { budget, clock } = await budgetWithRemaining(0);
    const controller = new AbortController();
    const aborted = track(budget.acquire(SUB, { signal: controller.signal }), clock);
    const after = track(budget.acquire(SUB), clock);
    await clock.advance(10);
    controller.abort();
    await flush();
    expect(aborted.result).toEqual({ kind: 'aborted' });
    expect(aborted.at! - START).toBe(10);
    // The same limiter without the aborted caller: `after` goes when its first waiter would.
    const control = await budgetWithRemaining(0);
    const alone = track(control.budget.acquire(SUB), control.clock);
    await clock.runUntil(() => after.result !== undefined, START + 10_000);
    await control.clock.runUntil(() => alone.result !== undefined, START + 10_000);
    expect(after.result?.kind).toBe('granted');
    expect(after.at).toBe(alone.at);
  });

  it('an already aborted signal never waits', async () => {
    const { budget } = await budgetWithRemaining(0);
    expect(await budget.acquire(SUB, { signal: AbortSignal.abort() })).toEqual({ kind: 'aborted' });
  });

  it('answers deadline at once, with the expected wait, when the wait would pass the deadline', async () => {
    const { budget, clock } = await budgetWithRemaining(9);
    permitOf(await budget.acquire(SUB)).settle({ throttled: true, remaining: 0, retryAfterMs: 4_000 });
    const result = await budget.acquire(SUB, { deadline: clock.now() + 1_000 });
    expect(result).toEqual({ kind: 'deadline', retryAfterMs: 4_000 });
    // The refused caller did not take a place: the next one is still released when the pause ends.
    const next = track(budget.acquire(SUB, { deadline: clock.now() + 10_000 }), clock);
    await clock.advance(4_000);
    expect(next.result?.kind).toBe('granted');
  });

  it('answers deadline at the deadline when a 429 lengthens the wait meanwhile', async () => {
    const { budget, clock } = await budgetWithRemaining(9);
    const permit = permitOf(await budget.acquire(SUB));
    const waiting = track(budget.acquire(SUB, { deadline: clock.now() + 500 }), clock);
    await flush();
    expect(waiting.result).toBeUndefined();
    permit.settle({ throttled: true, remaining: 0, retryAfterMs: 2_000 });
    await clock.advance(499);
    expect(waiting.result).toBeUndefined();
    await clock.advance(1);
    expect(waiting.result).toEqual({ kind: 'deadline', retryAfterMs: 1_500 });
    expect(clock.pending).toBe(0); // no timer left behind once nobody waits
  });
});

describe('the ARM client with a write limiter', () => {
  const target: BackendTarget = {
    subscriptionId: SUB,
    resourceGroupName: 'rg1',
    serviceName: 'apim1',
    backendId: 'b1',
  };
  const body = { properties: { url: 'https://b1.example', protocol: 'http' } };

  /** Answers each request from `reply(method)` and records the methods sent. */
  class ScriptedHttp implements HttpClient {
    readonly sent: string[] = [];
    constructor(private readonly reply: (method: string) => { status: number; headers?: Record<string, string> }) {}
    sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      this.sent.push(request.method);
      const { status, headers = {} } = this.reply(request.method);
      return Promise.resolve({ status, headers: createHttpHeaders(headers), request, bodyAsText: '' });
    }
  }

  function setup(reply: (method: string) => { status: number; headers?: Record<string, string> }) {
    const clock = new ManualClock(START);
    const http = new ScriptedHttp(reply);
    const writeLimiter = createWriteLimiter({ clock });
    const client = createArmBackendClient({
      endpoint: 'https://arm.test',
      apiVersion: '2024-05-01',
      credential: createArmCredential({ endpoint: 'https://arm.test', accessToken: 'token' }),
      clock,
      httpClient: http,
      writeLimiter,
    });
    return { client, clock, http };
  }

  it('learns the budget from answers and answers Throttled, without sending, when the wait reaches the deadline', async () => {
    const { client, clock, http } = setup(() => ({
      status: 200,
      headers: { 'x-ms-ratelimit-remaining-subscription-writes': '0' },
    }));
    expect(await client.createOrUpdate(target, body)).toMatchObject({ kind: 'ok' });
    const pending = client.createOrUpdate(target, body, { deadline: clock.now() + 50 });
    await clock.advance(50);
    const result = await pending;
    expect(result).toMatchObject({ kind: 'transient', code: 'Throttled', attempts: 0 });
    expect((result as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect(http.sent).toEqual(['PUT']);
  });

  it('holds every write back after a 429 but lets reads through', async () => {
    const { client, clock, http } = setup((method) =>
      method === 'PUT'
        ? { status: 429, headers: { 'retry-after': '30', 'x-ms-ratelimit-remaining-subscription-writes': '0' } }
        : { status: 200 },
    );
    // The 429's Retry-After (30 s) is past this call's deadline: it gives up at once.
    const put = await client.createOrUpdate(target, body, { deadline: clock.now() + 10_000 });
    expect(put).toMatchObject({ kind: 'transient', code: 'Throttled', retryAfterMs: 30_000, attempts: 1 });
    expect(await client.get(target)).toMatchObject({ kind: 'ok' });
    const patch = await client.update(target, body, { ifMatch: '"e"', deadline: clock.now() + 10_000 });
    const del = await client.delete(target, { deadline: clock.now() + 10_000 });
    const post = await client.reconnect(target, undefined, { deadline: clock.now() + 10_000 });
    for (const held of [patch, del, post]) {
      expect(held).toMatchObject({ kind: 'transient', code: 'Throttled', retryAfterMs: 30_000, attempts: 0 });
    }
    expect(http.sent).toEqual(['PUT', 'GET']);
  });

  it('an aborted caller waiting for the budget gets RequestAborted', async () => {
    const { client, clock } = setup(() => ({
      status: 200,
      headers: { 'x-ms-ratelimit-remaining-subscription-writes': '0' },
    }));
    await client.createOrUpdate(target, body);
    const controller = new AbortController();
    const pending = client.createOrUpdate(target, body, { signal: controller.signal });
    await clock.advance(10);
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'transient', error: { code: 'RequestAborted' } });
  });
});
