import fc from 'fast-check';
import { diffChanges, isApplied } from '../../shared/domain/desired-state';
import pool from '../fixtures/examples/ApiManagementCreateBackendWithWeightedLoadBalancer.json';

describe('isApplied', () => {
  const current = {
    id: '/subscriptions/x/backends/b1',
    name: 'b1',
    properties: {
      url: 'https://a.example',
      protocol: 'http',
      title: null,
      tls: { validateCertificateChain: true, validateCertificateName: false },
      pool: {
        services: [
          { id: 'x1', weight: 75, priority: 1 },
          { id: 'x2', weight: 25 },
        ],
      },
    },
  };

  it('ignores keys only ARM has (ids, defaults)', () => {
    expect(isApplied(current, { properties: { url: 'https://a.example' } })).toBe(true);
  });

  it('compares nested objects recursively', () => {
    expect(isApplied(current, { properties: { tls: { validateCertificateChain: true } } })).toBe(true);
    expect(isApplied(current, { properties: { tls: { validateCertificateChain: false } } })).toBe(false);
  });

  it('compares arrays element-wise with the same length', () => {
    const services = (s: unknown[]): unknown => ({ properties: { pool: { services: s } } });
    expect(isApplied(current, services([{ id: 'x1', weight: 75 }, { id: 'x2' }]))).toBe(true);
    expect(isApplied(current, services([{ id: 'x2' }, { id: 'x1' }]))).toBe(false);
    expect(isApplied(current, services([{ id: 'x1' }]))).toBe(false);
  });

  it('treats a desired null as matching an absent or null key, nothing else', () => {
    expect(isApplied(current, { properties: { title: null, description: null } })).toBe(true);
    expect(isApplied(current, { properties: { url: null } })).toBe(false);
  });

  it('is false when a desired key is missing or of another type', () => {
    expect(isApplied(current, { properties: { description: 'd' } })).toBe(false);
    expect(isApplied(current, { properties: { url: ['https://a.example'] } })).toBe(false);
    expect(isApplied(undefined, { properties: {} })).toBe(false);
  });

  it("recognises ARM's response to the official weighted-pool PUT as applied", () => {
    const example = pool as unknown as {
      parameters: { parameters: unknown };
      responses: { '200': { body: unknown }; '201': { body: unknown } };
    };
    expect(isApplied(example.responses['201'].body, example.parameters.parameters)).toBe(true);
    expect(isApplied(example.responses['200'].body, example.parameters.parameters)).toBe(true);
  });
});

describe('diffChanges', () => {
  it('names each changed leaf by path, only for keys in desired', () => {
    const current = {
      name: 'b1',
      properties: { url: 'https://old', protocol: 'http', pool: { services: [{ id: 'a', weight: 50 }] } },
    };
    const desired = {
      properties: { url: 'https://new', protocol: 'http', pool: { services: [{ id: 'a', weight: 60 }] } },
    };
    expect(diffChanges(current, desired)).toEqual([
      { path: 'properties.url', from: 'https://old', to: 'https://new' },
      { path: 'properties.pool.services[0].weight', from: 50, to: 60 },
    ]);
  });

  it('reports leaves under an object ARM does not have yet', () => {
    expect(diffChanges({ properties: {} }, { properties: { tls: { validateCertificateChain: true } } })).toEqual([
      { path: 'properties.tls.validateCertificateChain', from: undefined, to: true },
    ]);
  });

  it('reports an array of another length as one change', () => {
    expect(diffChanges({ a: [1, 2] }, { a: [1, 2, 3] })).toEqual([{ path: 'a', from: [1, 2], to: [1, 2, 3] }]);
  });

  it('quotes names that are not identifiers', () => {
    const current = { properties: { credentials: { header: { 'x-key': ['old'] } } } };
    const desired = { properties: { credentials: { header: { 'x-key': ['new'] } } } };
    expect(diffChanges(current, desired)).toEqual([
      { path: 'properties.credentials.header["x-key"][0]', from: 'old', to: 'new' },
    ]);
  });

  it('is empty exactly when isApplied holds', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(null, true, false, 0, 1, 'a', 'b'),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'x-y'), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(
        json,
        json,
        (current, desired) => (diffChanges(current, desired).length === 0) === isApplied(current, desired),
      ),
      { numRuns: 2000 },
    );
  });

  it('is empty for a document compared with itself', () => {
    fc.assert(fc.property(fc.jsonValue(), (doc) => diffChanges(doc, doc).length === 0 && isApplied(doc, doc)));
  });
});
