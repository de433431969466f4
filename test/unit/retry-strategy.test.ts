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

describe('transientCodeOf: which failures are worth another try', () => {
  const status = (value: number, errorCode?: string): AttemptOutcome =>
    errorCode === undefined ? { kind: 'status', status: value } : { kind: 'status', status: value, errorCode };

  it('reports only the codes the outcome contract names, whatever the input', () => {
    const outcomes = fc.oneof(
      fc.record({ kind: fc.constant('status' as const), status: fc.integer({ min: 100, max: 599 }) }),
      fc.record({ kind: fc.constant('network' as const), errorCode: fc.string() }),
    );
    fc.assert(
      fc.property(outcomes, (outcome) =>
        [undefined, 'Throttled', 'UpstreamUnavailable', 'Timeout'].includes(transientCodeOf(outcome)),
      ),
    );
  });

  it('never retries an answer that succeeded or redirected', () => {
    fc.assert(fc.property(fc.integer({ min: 100, max: 399 }), (s) => transientCodeOf(status(s)) === undefined));
  });

  it("retries ARM's throttling as Throttled and a request timeout as Timeout, so callers can tell them apart", () => {
    expect(transientCodeOf(status(429))).toBe('Throttled');
    expect(transientCodeOf(status(408))).toBe('Timeout');
  });

  it('treats every other client error as final: the caller has to change the request, retrying cannot help', () => {
    const otherClientErrors = fc.integer({ min: 400, max: 499 }).filter((s) => s !== 408 && s !== 429);
    fc.assert(
      fc.property(otherClientErrors, fc.option(fc.string()), (s, code) => {
        if (s === 409 && code === 'PessimisticConcurrencyConflict') return true; // an exception, below
        if (s === 422 && (code === null || ['Timeout', 'ManagementApiRequestFailed'].includes(code))) return true; // below
        return transientCodeOf(status(s, code ?? undefined)) === undefined;
      }),
    );
  });

  it("retries API Management's 422 timeouts (recorded), and a bodiless 422 (a HEAD), as unknown outcomes", () => {
    for (const errorCode of ['Timeout', 'ManagementApiRequestFailed', undefined]) {
      const outcome = status(422, errorCode);
      expect(transientCodeOf(outcome)).toBe('UpstreamUnavailable');
      expect(isUnknownOutcome(outcome)).toBe(true);
    }
    expect(transientCodeOf(status(422, 'UnprocessableEntity'))).toBeUndefined();
  });

  it('retries a 409 only when ARM says another operation on the backend is in progress (it clears by itself)', () => {
    expect(transientCodeOf(status(409, 'PessimisticConcurrencyConflict'))).toBe('UpstreamUnavailable');
    expect(transientCodeOf(status(409, 'Conflict'))).toBeUndefined();
  });

  it('retries the server errors that a later attempt may cure, as UpstreamUnavailable; 501 is final', () => {
    for (const s of [500, 502, 503, 504]) expect(transientCodeOf(status(s))).toBe('UpstreamUnavailable');
    expect(transientCodeOf(status(501))).toBeUndefined(); // Not Implemented: no attempt will ever be served
    fc.assert(
      fc.property(fc.integer({ min: 500, max: 599 }), (s) =>
        [undefined, 'UpstreamUnavailable'].includes(transientCodeOf(status(s))),
      ),
    );
  });

  it('retries a connection that dropped, was refused or timed out; timeouts (ours or the socket’s) as Timeout', () => {
    expect(transientCodeOf({ kind: 'network', errorCode: 'ECONNRESET' })).toBe('UpstreamUnavailable');
    expect(transientCodeOf({ kind: 'network', errorCode: 'ECONNREFUSED' })).toBe('UpstreamUnavailable');
    expect(transientCodeOf({ kind: 'network', errorCode: 'ETIMEDOUT' })).toBe('Timeout');
    expect(transientCodeOf({ kind: 'network', errorCode: ATTEMPT_TIMEOUT_CODE })).toBe('Timeout');
  });

  it('does not retry what another attempt cannot cure: an untrusted certificate, a missing credential', () => {
    for (const errorCode of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CredentialUnavailableError']) {
      expect(transientCodeOf({ kind: 'network', errorCode })).toBeUndefined();
    }
  });
});

describe('isUnknownOutcome', () => {
  it('is true when the request may have reached ARM', () => {
    expect(isUnknownOutcome({ kind: 'network', errorCode: 'ECONNRESET' })).toBe(true);
    expect(isUnknownOutcome({ kind: 'network', errorCode: 'ETIMEDOUT' })).toBe(true);
    expect(isUnknownOutcome({ kind: 'network', errorCode: ATTEMPT_TIMEOUT_CODE })).toBe(true);
  });

  it('is false when the request cannot have been sent, or ARM answered', () => {
    expect(isUnknownOutcome({ kind: 'network', errorCode: 'ECONNREFUSED' })).toBe(false);
    expect(isUnknownOutcome({ kind: 'network', errorCode: 'EAI_AGAIN' })).toBe(false);
    expect(isUnknownOutcome({ kind: 'status', status: 503 })).toBe(false);
  });
});

describe('backoffDelayMs', () => {
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

describe('decideRetry', () => {
  it('uses ARM advice exactly, even beyond the backoff cap', () => {
    const outcome: AttemptOutcome = { kind: 'status', status: 429, retryAfterMs: 45_000 };
    expect(decideRetry(base(outcome, { settings: { ...DEFAULT_RETRY_SETTINGS, maxBackoffMs: 1000 } }))).toEqual({
      action: 'retry',
      code: 'Throttled',
      delayMs: 45_000,
    });
  });

  it('backs off with jitter when ARM gives no advice', () => {
    expect(decideRetry(base({ kind: 'status', status: 503 }, { attempts: 3 }))).toEqual({
      action: 'retry',
      code: 'UpstreamUnavailable',
      delayMs: 1000, // 0.5 of the third ceiling (2000)
    });
  });

  it('gives up when the wait would pass the deadline, passing ARM advice on', () => {
    const outcome: AttemptOutcome = { kind: 'status', status: 429, retryAfterMs: 10_001 };
    expect(decideRetry(base(outcome, { deadline: NOW + 10_000 }))).toEqual({
      action: 'giveUp',
      code: 'Throttled',
      retryAfterMs: 10_001,
    });
    expect(decideRetry(base({ ...outcome, retryAfterMs: 10_000 }, { deadline: NOW + 10_000 })).action).toBe('retry');
  });

  it('gives up without advice when backoff would pass the deadline', () => {
    expect(decideRetry(base({ kind: 'network', errorCode: 'ETIMEDOUT' }, { deadline: NOW + 100 }))).toEqual({
      action: 'giveUp',
      code: 'Timeout',
    });
  });

  it('gives up after maxAttempts even with time left', () => {
    const settings = { ...DEFAULT_RETRY_SETTINGS, maxAttempts: 3 };
    expect(decideRetry(base({ kind: 'status', status: 500 }, { attempts: 3, settings })).action).toBe('giveUp');
    expect(decideRetry(base({ kind: 'status', status: 500 }, { attempts: 2, settings })).action).toBe('retry');
  });

  it('is final for refusals', () => {
    expect(decideRetry(base({ kind: 'status', status: 400, retryAfterMs: 5 }))).toEqual({ action: 'final' });
  });
});

describe('decideConcurrencyRetry', () => {
  const input = { now: NOW, deadline: NOW + 120_000, random: () => 0.99999, settings: DEFAULT_RETRY_SETTINGS };

  it('re-applies after a short jittered pause that grows per round', () => {
    expect(decideConcurrencyRetry({ ...input, rounds: 1 })).toEqual({ action: 'retry', delayMs: 100 });
    expect(decideConcurrencyRetry({ ...input, rounds: 3 })).toEqual({ action: 'retry', delayMs: 400 });
  });

  it('gives up when the pause would pass the deadline', () => {
    expect(decideConcurrencyRetry({ ...input, rounds: 1, deadline: NOW + 50 })).toEqual({ action: 'giveUp' });
  });
});
