import fc from 'fast-check';
import { parseDelivery } from '../../shared/domain/breaker-event';
import { isoDurationToMs, msToIsoDuration, timeSpanToMs } from '../../shared/domain/breaker-durations';

const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';

describe('breaker event parsing never throws', () => {
  it('any JSON is either a parsed delivery or a refusal naming fields', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseDelivery(value);
        if (!parsed.ok) expect(parsed.error.details?.length).toBeGreaterThan(0);
        return true;
      }),
    );
  });

  it('an event with arbitrary field values is parsed or refused, never thrown', () => {
    const anything = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined), fc.object());
    fc.assert(
      fc.property(anything, anything, anything, anything, (backendName, subject, time, trip) => {
        const event = {
          id: 'e',
          eventType: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
          topic: SERVICE,
          subject,
          eventTime: time,
          data: { backendName, circuitBreaker: { rules: { r: { tripDuration: trip } } } },
        };
        const parsed = parseDelivery([event]);
        if (parsed.ok && parsed.items[0]?.kind === 'breaker') {
          expect(parsed.items[0].event.backendId.startsWith(`${SERVICE}/backends/`)).toBe(true);
        }
        return true;
      }),
    );
  });
});

describe('durations round-trip', () => {
  it('a TimeSpan, its ISO 8601 form and back are the same length of time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        (d, h, m, s) => {
          const pad = (x: number) => String(x).padStart(2, '0');
          const span = `${d > 0 ? `${d}.` : ''}${pad(h)}:${pad(m)}:${pad(s)}`;
          const ms = timeSpanToMs(span)!;
          expect(ms).toBe((((d * 24 + h) * 60 + m) * 60 + s) * 1000);
          expect(isoDurationToMs(msToIsoDuration(ms))).toBe(ms);
        },
      ),
    );
  });
});
