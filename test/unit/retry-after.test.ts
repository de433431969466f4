import { createHttpHeaders } from '@azure/core-rest-pipeline';
import { retryAfterMsFromHeaders } from '../../shared/adapters/arm/retry-after';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const read = (headers: Record<string, string>): number | undefined =>
  retryAfterMsFromHeaders(createHttpHeaders(headers), NOW);

describe('retryAfterMsFromHeaders', () => {
  it('reads Retry-After in seconds', () => {
    expect(read({ 'Retry-After': '17' })).toBe(17_000);
    expect(read({ 'retry-after': '0' })).toBe(0);
  });

  it('rounds fractional values up, never down', () => {
    expect(read({ 'retry-after': '1.5' })).toBe(1500);
    expect(read({ 'retry-after-ms': '10.2' })).toBe(11);
  });

  it('reads Retry-After as an HTTP date relative to now', () => {
    expect(read({ 'retry-after': 'Sat, 01 Mar 2025 12:00:30 GMT' })).toBe(30_000);
  });

  it('treats a date in the past as no wait', () => {
    expect(read({ 'retry-after': 'Sat, 01 Mar 2025 11:59:00 GMT' })).toBe(0);
  });

  it('reads retry-after-ms and x-ms-retry-after-ms', () => {
    expect(read({ 'retry-after-ms': '250' })).toBe(250);
    expect(read({ 'x-ms-retry-after-ms': '1200' })).toBe(1200);
  });

  it('prefers retry-after-ms, then x-ms-retry-after-ms, then Retry-After', () => {
    expect(read({ 'retry-after-ms': '250', 'x-ms-retry-after-ms': '900', 'retry-after': '5' })).toBe(250);
    expect(read({ 'x-ms-retry-after-ms': '900', 'retry-after': '5' })).toBe(900);
  });

  it('skips an invalid millisecond header and falls back to the next one', () => {
    expect(read({ 'retry-after-ms': 'soon', 'retry-after': '3' })).toBe(3000);
  });

  it('returns undefined without (valid) advice', () => {
    expect(read({})).toBeUndefined();
    expect(read({ 'retry-after': '-5' })).toBeUndefined();
    expect(read({ 'retry-after': 'not a date' })).toBeUndefined();
    expect(read({ 'retry-after': '' })).toBeUndefined();
  });
});
