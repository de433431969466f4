import { createHttpHeaders } from '@azure/core-rest-pipeline';
import { remainingWritesOf, writeObservationOf } from '../../shared/adapters/arm/rate-limit-headers';

const headers = (h: Record<string, string>) => createHttpHeaders(h);

describe('writeObservationOf', () => {
  it('reads the remaining writes from an answer', () => {
    expect(
      writeObservationOf('PUT', 201, headers({ 'x-ms-ratelimit-remaining-subscription-writes': '17' }), undefined),
    ).toEqual({ throttled: false, remaining: 17 });
    expect(remainingWritesOf(headers({ 'X-Ms-Ratelimit-Remaining-Subscription-Writes': ' 3 ' }))).toBe(3);
  });

  it('marks a 429 as throttled, with its Retry-After', () => {
    expect(
      writeObservationOf('PATCH', 429, headers({ 'x-ms-ratelimit-remaining-subscription-writes': '0' }), 2_000),
    ).toEqual({ throttled: true, remaining: 0, retryAfterMs: 2_000 });
  });

  it('ignores a malformed figure', () => {
    for (const value of ['abc', '-1', '1.5', '']) {
      expect(
        writeObservationOf('PUT', 200, headers({ 'x-ms-ratelimit-remaining-subscription-writes': value }), undefined),
      ).toEqual({ throttled: false, remaining: undefined });
    }
  });

  it('tells nothing when a DELETE was counted in the separate deletes bucket', () => {
    const deletes = headers({ 'x-ms-ratelimit-remaining-subscription-deletes': '0' });
    expect(writeObservationOf('DELETE', 429, deletes, 1_000)).toBeUndefined();
    const writes = headers({ 'x-ms-ratelimit-remaining-subscription-writes': '5' });
    expect(writeObservationOf('DELETE', 200, writes, undefined)).toEqual({ throttled: false, remaining: 5 });
  });
});
