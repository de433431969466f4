/**
 * The share of a shared writes bucket this process counts on (writer-share.ts), from readings of what is left: it
 * follows the writes that readings show, whatever the order and flooring of the figures.
 */
import fc from 'fast-check';
import { halved, initialShare, shareOf, withReading, type WriterShare } from '../../shared/adapters/arm/writer-share';

const RATE = 10 / 1000;
const CAPACITY = 200;

/** Readings of a bucket (not full) that this process and `others` other writers spend, a window at a time. */
function observe(windows: Array<{ ms: number; own: number; others: number }>, start = 50): WriterShare {
  let share = withReading(initialShare, 0, start, 0, RATE, CAPACITY);
  let level = start;
  let now = 0;
  for (const w of windows) {
    now += w.ms;
    level = Math.max(0, level + w.ms * RATE - w.own - w.others);
    share = withReading(share, now, Math.floor(level), w.own, RATE, CAPACITY);
  }
  return share;
}

const window = (maxOwn: number, maxOthers: number) =>
  fc.record({ ms: fc.integer({ min: 0, max: 400 }), own: fc.nat(maxOwn), others: fc.nat(maxOthers) });

describe('the writer share', () => {
  it('assumes one writer of four before any evidence', () => {
    expect(shareOf(initialShare)).toBeCloseTo(0.25);
  });

  it('grows towards the whole bucket while readings show nobody else spending it', () => {
    const alone = observe(Array.from({ length: 40 }, () => ({ ms: 100, own: 1, others: 0 })));
    expect(shareOf(alone)).toBeGreaterThan(0.8);
  });

  it.each([2, 4])('settles near 1/%i among that many writers spending alike', (writers) => {
    const windows = Array.from({ length: 60 }, () => ({ ms: 100 * writers, own: 1, others: writers - 1 }));
    // Between the prior's 1/4 and the truth, close to the truth.
    expect(Math.abs(shareOf(observe(windows)) - 1 / writers)).toBeLessThan(0.06);
  });

  it('counts on no more when other writers spend more, window by window', () => {
    fc.assert(
      fc.property(fc.array(window(3, 3), { minLength: 1, maxLength: 30 }), fc.nat(30), (windows, extra) => {
        const more = windows.map((w, i) => (i === windows.length - 1 ? { ...w, others: w.others + extra } : w));
        expect(shareOf(observe(more))).toBeLessThanOrEqual(shareOf(observe(windows)) + 1e-12);
      }),
    );
  });

  it('stays within its bounds, whatever the readings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ms: fc.nat(5_000), remaining: fc.nat(300), own: fc.nat(5) }), { maxLength: 40 }),
        (readings) => {
          let share = initialShare;
          let now = 0;
          for (const r of readings) {
            now += r.ms;
            share = withReading(share, now, r.remaining, r.own, RATE, CAPACITY);
            expect(shareOf(share)).toBeGreaterThanOrEqual(0.05);
            expect(shareOf(share)).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });

  it('halves on a 429 (above its floor)', () => {
    fc.assert(
      fc.property(fc.array(window(3, 3), { maxLength: 30 }), (windows) => {
        const share = observe(windows);
        const before = shareOf(share);
        fc.pre(before >= 0.1);
        expect(shareOf(halved(share))).toBeCloseTo(before / 2, 9);
      }),
    );
  });
});
