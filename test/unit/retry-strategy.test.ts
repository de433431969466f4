/**
 * The retry decision, stated as the behaviour callers rely on (what is waited for, what is re-sent, what is final),
 * not as a copy of the status table. The client's loop that acts on it is tested in arm-client.test.ts.
 */
import fc from 'fast-check';
import {
  ATTEMPT_TIMEOUT_CODE,
  DEFAULT_RETRY_SETTINGS,
  backoffDelayMs,
  decideConcurrencyRetry,
  decideRetry,
  isUnknownOutcome,
  transientCodeOf,
  type AttemptOutcome,
  type RetryInput,
} from '../../shared/adapters/arm/retry-strategy';

const NOW = 1_000_000;
const base = (outcome: AttemptOutcome, over: Partial<RetryInput> = {}): RetryInput => ({
  outcome,
  attempts: 1,
  now: NOW,
  deadline: NOW + 120_000,
  random: () => 0.5,
  settings: DEFAULT_RETRY_SETTINGS,
  ...over,
});
const answered = (status: number, errorCode?: string, retryAfterMs?: number): AttemptOutcome => ({
  kind: 'status',
  status,
  ...(errorCode === undefined ? {} : { errorCode }),
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
const network = (errorCode: string): AttemptOutcome => ({ kind: 'network', errorCode });

/** Any outcome: an answer of any status (with or without an error code and advice), or any network failure. */
const anyOutcome: fc.Arbitrary<AttemptOutcome> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('status' as const),
      status: fc.integer({ min: 100, max: 599 }),
      errorCode: fc.constantFrom('Timeout', 'ManagementApiRequestFailed', 'PessimisticConcurrencyConflict', 'Other'),
      retryAfterMs: fc.integer({ min: 0, max: 300_000 }),
    },
    { requiredKeys: ['kind', 'status'] },
  ),
  fc.record({
    kind: fc.constant('network' as const),
    errorCode: fc.constantFrom(ATTEMPT_TIMEOUT_CODE, 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN', 'X'),
  }),
);

describe('ARM throttling (429)', () => {
  it('waits exactly as long as Retry-After asks, never less, even beyond the backoff cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 1, max: 60_000 }), (advice, cap) => {
        const settings = { ...DEFAULT_RETRY_SETTINGS, maxBackoffMs: cap };
        const decision = decideRetry(base(answered(429, undefined, advice), { settings }));
        return decision.action === 'retry' && decision.delayMs === advice && decision.code === 'Throttled';
      }),
    );
  });

  it('without Retry-After, backs off with jitter, never longer than the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, draw) => {
        const decision = decideRetry(base(answered(429), { attempts: n, random: () => draw }));
        return decision.action === 'retry' && decision.delayMs >= 0 && decision.delayMs <= 30_000;
      }),
    );
  });

  it('gives up rather than wait past the deadline, handing ARM’s advice to the caller to defer with', () => {
    expect(decideRetry(base(answered(429, undefined, 10_001), { deadline: NOW + 10_000 }))).toEqual({
      action: 'giveUp',
      code: 'Throttled',
      retryAfterMs: 10_001,
    });
    expect(decideRetry(base(answered(429, undefined, 10_000), { deadline: NOW + 10_000 })).action).toBe('retry');
  });
});

describe('unknown outcomes: a write that may have landed is checked before it is re-sent', () => {
  it("a 422 Timeout or ManagementApiRequestFailed (API Management's own, recorded) is retried as an unknown outcome", () => {
    for (const code of ['Timeout', 'ManagementApiRequestFailed']) {
      expect(isUnknownOutcome(answered(422, code))).toBe(true);
      expect(decideRetry(base(answered(422, code))).action).toBe('retry');
    }
  });

  it('a bodiless 422 (a HEAD cannot say which) is taken as the timeout: retried, and checked if it was a write', () => {
    expect(isUnknownOutcome(answered(422))).toBe(true);
    expect(decideRetry(base(answered(422))).action).toBe('retry');
  });

  it('any other 422 is a refusal of the request: final, nothing to check', () => {
    expect(isUnknownOutcome(answered(422, 'UnprocessableEntity'))).toBe(false);
    expect(decideRetry(base(answered(422, 'UnprocessableEntity')))).toEqual({ action: 'final' });
  });

  it('a connection that dropped or timed out after sending may have delivered the write', () => {
    for (const code of ['ECONNRESET', 'ETIMEDOUT', ATTEMPT_TIMEOUT_CODE]) {
      expect(isUnknownOutcome(network(code))).toBe(true);
      expect(decideRetry(base(network(code))).action).toBe('retry');
    }
  });

  it('a connection that was never made cannot have delivered it: re-sent without a check', () => {
    for (const code of ['ECONNREFUSED', 'EAI_AGAIN']) {
      expect(isUnknownOutcome(network(code))).toBe(false);
      expect(decideRetry(base(network(code))).action).toBe('retry');
    }
  });

  it('an HTTP answer other than the 422 timeout is a known outcome', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }).filter((s) => s !== 422),
        (s) => !isUnknownOutcome(answered(s)),
      ),
    );
  });
});

describe('what is final: the caller must change the request, or nothing will ever serve it', () => {
  it('a success or redirect is never retried', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 399 }), (s) => decideRetry(base(answered(s))).action === 'final'),
    );
  });

  it('a client error is final whatever ARM advises, except a request timeout, throttling and the in-progress 409', () => {
    const refusals = fc.integer({ min: 400, max: 499 }).filter((s) => ![408, 409, 422, 429].includes(s));
    fc.assert(
      fc.property(refusals, fc.integer({ min: 0, max: 10_000 }), (s, advice) => {
        return decideRetry(base(answered(s, 'Anything', advice))).action === 'final';
      }),
    );
  });

  it('a 409 is retried only while another operation on the backend is in progress (it clears by itself)', () => {
    expect(decideRetry(base(answered(409, 'PessimisticConcurrencyConflict'))).action).toBe('retry');
    expect(decideRetry(base(answered(409, 'Conflict'))).action).toBe('final');
  });

  it('server errors a later attempt may cure are retried; 501 Not Implemented is final', () => {
    for (const s of [500, 502, 503, 504]) expect(decideRetry(base(answered(s))).action).toBe('retry');
    expect(decideRetry(base(answered(501))).action).toBe('final');
  });

  it('a failure no attempt can cure (an untrusted certificate, a missing credential) is final', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CredentialUnavailableError']) {
      expect(decideRetry(base(network(code)))).toEqual({ action: 'final' });
    }
  });
});

describe('what the caller is told when retries end', () => {
  it('only the transient codes of the outcome contract, so callers can tell throttling from timeouts', () => {
    fc.assert(
      fc.property(anyOutcome, (outcome) =>
        [undefined, 'Throttled', 'UpstreamUnavailable', 'Timeout'].includes(transientCodeOf(outcome)),
      ),
    );
    expect(decideRetry(base(answered(429)))).toMatchObject({ code: 'Throttled' });
    expect(decideRetry(base(answered(408)))).toMatchObject({ code: 'Timeout' });
    expect(decideRetry(base(network(ATTEMPT_TIMEOUT_CODE)))).toMatchObject({ code: 'Timeout' });
    expect(decideRetry(base(network('ECONNRESET')))).toMatchObject({ code: 'UpstreamUnavailable' });
  });

  it('no advice is invented when ARM gave none', () => {
    expect(decideRetry(base(network('ETIMEDOUT'), { deadline: NOW + 100 }))).toEqual({
      action: 'giveUp',
      code: 'Timeout',
    });
  });
});

describe('every retry is bounded', () => {
  it('never sleeps past the deadline, whatever the outcome, advice or draw', () => {
    fc.assert(
      fc.property(
        anyOutcome,
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (outcome, attempts, budget, draw) => {
          const decision = decideRetry(base(outcome, { attempts, deadline: NOW + budget, random: () => draw }));
          return decision.action !== 'retry' || NOW + decision.delayMs <= NOW + budget;
        },
      ),
    );
  });

  it('never sends more than maxAttempts times, even with time left', () => {
    fc.assert(
      fc.property(anyOutcome, fc.integer({ min: 1, max: 10 }), (outcome, maxAttempts) => {
        const settings = { ...DEFAULT_RETRY_SETTINGS, maxAttempts };
        return decideRetry(base(outcome, { attempts: maxAttempts, settings })).action !== 'retry';
      }),
    );
    const settings = { ...DEFAULT_RETRY_SETTINGS, maxAttempts: 3 };
    expect(decideRetry(base(answered(500), { attempts: 2, settings })).action).toBe('retry');
  });
});

describe('backoff', () => {
  it('stays within [0, min(cap, base * 2^n)] for any draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 60_000 }),
        (n, draw, cap) => {
          const settings = { baseDelayMs: 500, maxBackoffMs: cap };
          const delay = backoffDelayMs(n, () => draw, settings);
          return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(cap, 500 * 2 ** n);
        },
      ),
    );
  });

  it('doubles its ceiling per retry up to the cap', () => {
    const top = (): number => 0.99999;
    const settings = { baseDelayMs: 500, maxBackoffMs: 30_000 };
    expect([0, 1, 2, 3, 6, 7, 40].map((n) => backoffDelayMs(n, top, settings))).toEqual([
      500, 1000, 2000, 4000, 30_000, 30_000, 30_000,
    ]);
  });
});

describe('losing an ETag race (412 on a PATCH whose ETag the client read)', () => {
  const input = { now: NOW, deadline: NOW + 120_000, random: () => 0.99999, settings: DEFAULT_RETRY_SETTINGS };

  it('re-applies after a short jittered pause that grows per round', () => {
    expect(decideConcurrencyRetry({ ...input, rounds: 1 })).toEqual({ action: 'retry', delayMs: 100 });
    expect(decideConcurrencyRetry({ ...input, rounds: 3 })).toEqual({ action: 'retry', delayMs: 400 });
  });

  it('gives up when the pause would pass the deadline', () => {
    expect(decideConcurrencyRetry({ ...input, rounds: 1, deadline: NOW + 50 })).toEqual({ action: 'giveUp' });
  });
});
