/**
 * The pure model of a subscription's writes bucket (bucket-estimate.ts), driven by random sequences of sends and
 * answers: whatever ARM reports, the estimate keeps its promises to the waiter queue and to ARM.
 */
import fc from 'fast-check';
import {
  admit,
  expectedWait,
  initialEstimate,
  nextSendAt,
  noted,
  refilled,
  settled,
  type BucketEstimate,
} from '../../shared/adapters/arm/bucket-estimate';
import type { WriteObservation } from '../../shared/adapters/arm/rate-limit-headers';

const START = 1_700_000_000_000;
const RATE = 10 / 1000;

type Step =
  | { kind: 'send'; dt: number }
  | { kind: 'answer'; dt: number; which: number; observation: WriteObservation | undefined }
  | { kind: 'note'; dt: number; remaining: number };

const observation: fc.Arbitrary<WriteObservation | undefined> = fc.option(
  fc.oneof(
    fc.record({ throttled: fc.constant(false), remaining: fc.option(fc.nat(60), { nil: undefined }) }),
    fc.record({
      throttled: fc.constant(true),
      remaining: fc.option(fc.constant(0), { nil: undefined }),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
    }),
  ),
  { nil: undefined, freq: 8 },
);

const dt = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3_000 }));

const steps: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('send' as const), dt }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('answer' as const), dt, which: fc.nat(), observation }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('note' as const), dt, remaining: fc.nat(60) }) },
  ),
  { maxLength: 120 },
);

/** Runs `script`, calling `check` with the estimate after each step (and what happened so far). */
function replay(
  script: Step[],
  check: (e: BucketEstimate, now: number, history: { sent: number; answered: number; pausedUntil: number }) => void,
): void {
  let e = initialEstimate(RATE);
  let now = START;
  const inFlight: number[] = [];
  const history = { sent: 0, answered: 0, pausedUntil: 0 };
  for (const step of script) {
    now += step.dt;
    if (step.kind === 'send') {
      const next = admit(e, now);
      if (next !== undefined) {
        e = next;
        inFlight.push(now);
        history.sent += 1;
      }
    } else if (step.kind === 'answer') {
      if (inFlight.length === 0) continue;
      const [sentAt] = inFlight.splice(step.which % inFlight.length, 1);
      e = settled(e, now, sentAt!, step.observation);
      history.answered += 1;
      if (step.observation?.throttled === true) {
        history.pausedUntil = Math.max(history.pausedUntil, now + (step.observation.retryAfterMs ?? 1_000));
      }
    } else {
      e = noted(e, now, step.remaining);
    }
    check(e, now, history);
  }
}

describe('the bucket estimate', () => {
  it('sends nothing before a 429 pause (Retry-After, else one second) has passed', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 0, max: 6_000 }), (script, later) => {
        replay(script, (e, now, { pausedUntil }) => {
          for (const at of [now, now + later]) {
            if (at < pausedUntil) expect(admit(e, at)).toBeUndefined();
          }
        });
      }),
    );
  });

  it('never counts on more than the bucket was ever seen to hold, however long it idles', () => {
    fc.assert(
      fc.property(steps, fc.integer({ min: 0, max: 600_000 }), (script, idle) => {
        replay(script, (e, now) => {
          const tokens = refilled(e, now + idle).tokens;
          if (e.capacityKnown && tokens !== undefined) expect(tokens).toBeLessThanOrEqual(e.capacity + 1e-9);
        });
      }),
    );
  });

  it('counts every write let out and not yet answered as in flight', () => {
    fc.assert(
      fc.property(steps, (script) => {
        replay(script, (e, _now, { sent, answered }) => expect(e.inFlight).toBe(sent - answered));
      }),
    );
  });

  it("names a send time the queue's timer can trust: a write may go then, and not before", () => {
    fc.assert(
      fc.property(steps, (script) => {
        replay(script, (e, now) => {
          const at = nextSendAt(e, now);
          if (at === undefined) return;
          expect(at).toBeGreaterThanOrEqual(now);
          expect(admit(e, at)).toBeDefined();
          if (at > now) expect(admit(e, now)).toBeUndefined();
        });
      }),
    );
  });

  it('expects no wait for the next write when one may go now, and longer waits further back', () => {
    fc.assert(
      fc.property(steps, fc.nat(20), (script, position) => {
        replay(script, (e, now) => {
          if (admit(e, now) !== undefined) expect(expectedWait(e, now, 0)).toBe(0);
          expect(expectedWait(e, now, position + 1)).toBeGreaterThanOrEqual(expectedWait(e, now, position));
        });
      }),
    );
  });

  it('gains tokens, never loses them, as time passes without news', () => {
    fc.assert(
      fc.property(steps, dt, dt, (script, a, b) => {
        replay(script, (e, now) => {
          const earlier = refilled(e, now + a).tokens;
          const later = refilled(e, now + a + b).tokens;
          if (earlier !== undefined && later !== undefined) expect(later).toBeGreaterThanOrEqual(earlier);
        });
      }),
    );
  });
});
