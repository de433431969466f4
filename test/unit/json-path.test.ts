import fc from 'fast-check';
import { childPath, formatPath } from '../../shared/domain/json-path';
import { splitPath } from '../../shared/domain/redact';

describe('JSON paths (validation details, plans, redaction by path)', () => {
  it('spells identifiers with dots, indexes in brackets, and quotes any other name', () => {
    expect(formatPath(['body', 'properties', 'pool', 'services', 0, 'weight'])).toBe(
      'body.properties.pool.services[0].weight',
    );
    expect(formatPath(['credentials', 'header', 'x-api-key', 1])).toBe('credentials.header["x-api-key"][1]');
    expect(formatPath(['x-first'])).toBe('["x-first"]');
    expect(childPath('', 'url')).toBe('url');
  });

  it('is read back to the same object keys by splitPath, whatever the names (redaction depends on it)', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('url', 'x-api-key', '123', 'a.b', '["x"]', '__proto__'));
    fc.assert(
      fc.property(fc.array(fc.oneof(key, fc.nat(50)), { maxLength: 6 }), (keys) => {
        const names = keys.filter((k): k is string => typeof k === 'string');
        expect(splitPath(formatPath(keys))).toEqual(names);
      }),
    );
  });
});
