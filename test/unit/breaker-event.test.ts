import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDelivery } from '../../shared/domain/breaker-event';
import { isoDurationToMs, msToIsoDuration, timeSpanToIso } from '../../shared/domain/breaker-durations';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', name), 'utf8'));
const SERVICE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1';

describe('breaker event normalisation', () => {
  it.each([
    ['circuit-breaker-opened.eventgrid.json', 'eventgrid', '2025-04-02T00:47:48.8269769Z'],
    ['circuit-breaker-opened.cloudevent.json', 'cloudevents', '2025-04-02T00:47:47.8536532Z'],
  ])('reads the reference sample %s', (file, schema, time) => {
    const parsed = parseDelivery(fixture(file));
    expect(parsed).toEqual({
      ok: true,
      items: [
        {
          kind: 'breaker',
          event: {
            id: '92c502f2-a966-42a7-a428-d3b319844544',
            kind: 'opened',
            type: 'Microsoft.ApiManagement.CircuitBreaker.Opened',
            schema,
            backend: {
              subscriptionId: '00000000-0000-0000-0000-000000000000',
              resourceGroupName: 'rg1',
              serviceName: 'apimService1',
              backendId: 'openai1',
            },
            backendId: `${SERVICE}/backends/openai1`,
            rule: 'breakThrottling',
            tripDuration: 'PT1S',
            eventTime: time,
          },
        },
      ],
    });
  });

  it('tolerates the announcement spelling, specversion, and the backendNme typo', () => {
    const parsed = parseDelivery({
      specversion: '1.0',
      id: 'e1',
      source: SERVICE,
      type: 'Microsoft.ApiManagement.Gateway.CircuitBreakerClosed',
      time: '2025-04-02T00:47:47Z',
      data: { backendNme: 'b1', circuitBreaker: { rules: { r1: {} } } },
    });
    expect(parsed.ok && parsed.items[0]).toMatchObject({
      kind: 'breaker',
      event: { kind: 'closed', rule: 'r1', backendId: `${SERVICE}/backends/b1` },
    });
  });

  it('answers the validation event and ignores other types', () => {
    const parsed = parseDelivery([
      {
        id: 'v',
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: '2025-01-01T00:00:00Z',
        data: { validationCode: 'abc' },
      },
      {
        id: 'o',
        eventType: 'Microsoft.ApiManagement.APICreated',
        eventTime: '2025-01-01T00:00:00Z',
        subject: '/apis/x',
      },
    ]);
    expect(parsed).toEqual({
      ok: true,
      items: [
        { kind: 'validation', code: 'abc' },
        { kind: 'ignored', id: 'o', type: 'Microsoft.ApiManagement.APICreated' },
      ],
    });
  });

  it.each([
    [{ ...(fixture('circuit-breaker-opened.cloudevent.json') as object), source: '/not/an/arm/id' }, 'source'],
    [{ ...(fixture('circuit-breaker-opened.cloudevent.json') as object), specVersion: undefined }, 'specversion'],
    [{ ...(fixture('circuit-breaker-opened.cloudevent.json') as object), time: 'yesterday' }, 'time'],
    [
      { ...(fixture('circuit-breaker-opened.cloudevent.json') as object), data: { backendName: 'a/../b' } },
      'data.backendName',
    ],
    [
      {
        ...(fixture('circuit-breaker-opened.cloudevent.json') as object),
        data: { backendName: 'b', circuitBreaker: { rules: { breakThrottling: { tripDuration: 'PT1S' } } } },
      },
      'data.circuitBreaker.rules.breakThrottling.tripDuration',
    ],
    [{ id: 'x' }, 'type'],
  ])('refuses a malformed event naming the field (%#)', (event, target) => {
    const parsed = parseDelivery(event);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.details?.map((d) => d.target)).toContain(target);
  });

  it('names the index of the bad event in an array', () => {
    const good = (fixture('circuit-breaker-opened.eventgrid.json') as object[])[0]!;
    const parsed = parseDelivery([good, { ...good, topic: undefined }]);
    expect(!parsed.ok && parsed.error.details?.map((d) => d.target)).toEqual(['[1].topic']);
  });
});

describe('durations', () => {
  it.each([
    ['00:00:01', 'PT1S'],
    ['00:05:00', 'PT5M'],
    ['01:30:00', 'PT1H30M'],
    ['1.02:00:00', 'P1DT2H'],
    ['00:00:00.5', 'PT0.5S'],
    ['00:00:00', 'PT0S'],
    ['48:00:00', 'P2D'],
  ])('tripDuration %s is %s', (span, iso) => {
    expect(timeSpanToIso(span)).toBe(iso);
  });

  it.each(['1s', 'PT1S', '00:61:00', '', '1.25:00:00'])('%s is not a TimeSpan', (span) => {
    expect(timeSpanToIso(span)).toBeUndefined();
  });

  it('reads windows as ISO 8601', () => {
    expect(isoDurationToMs('PT1H')).toBe(3_600_000);
    expect(isoDurationToMs('P1DT30M')).toBe(88_200_000);
    expect(isoDurationToMs('P1W')).toBe(604_800_000);
    expect(isoDurationToMs('P1M')).toBeUndefined();
    expect(isoDurationToMs('PT')).toBeUndefined();
    expect(msToIsoDuration(90_061_000)).toBe('P1DT1H1M1S');
  });
});
