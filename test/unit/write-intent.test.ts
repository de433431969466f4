import { createFingerprinter } from '../../shared/domain/fingerprint';
import { expectedStateHash, stateHash, stateMatches } from '../../shared/app/write-intent';
import type { ChangeRequest } from '../../shared/domain/contract/change-request';

const KEY = 'k'.repeat(40);
const SECRET = 'correct-horse-battery-staple';
const TARGET = {
  subscriptionId: '00000000-0000-0000-0000-000000000000',
  resourceGroupName: 'rg',
  serviceName: 'apim',
  backendId: 'b1',
};

function withSecret(secret: string): Record<string, unknown> {
  return {
    properties: {
      url: 'https://example.com',
      protocol: 'http',
      credentials: { header: { 'x-api-key': [secret] } },
    },
  };
}

describe('recorded write intent: the state hash', () => {
  const keyed = createFingerprinter({ current: KEY });

  it('covers secrets with the keyed HMAC when a key is set: no plain secret, no slow hash on the write path', () => {
    const hash = stateHash(withSecret(SECRET), keyed);
    expect(hash).toMatch(/\.k-[0-9a-f]{8}\.[0-9a-f]{64}$/);
    expect(hash).not.toContain(SECRET);
    expect(hash).not.toContain(Buffer.from(SECRET).toString('base64'));
  });

  it('tells a state that differs only in a secret from the recorded one', () => {
    const recorded = stateHash(withSecret(SECRET), keyed);
    expect(stateMatches(withSecret(SECRET), recorded, keyed)).toBe(true);
    expect(stateMatches(withSecret('someone-elses-secret'), recorded, keyed)).toBe(false);
  });

  it('still recognises a hash recorded under the previous key after a rotation', () => {
    const recorded = stateHash(withSecret(SECRET), keyed);
    const rotated = createFingerprinter({ current: 'n'.repeat(40), previous: [KEY] });
    expect(stateMatches(withSecret(SECRET), recorded, rotated)).toBe(true);
    expect(stateMatches(withSecret('other'), recorded, rotated)).toBe(false);
  });

  it('is "absent" for a delete and matches only a missing backend', () => {
    const request = { requestId: 'r1', operation: 'delete', target: TARGET } as unknown as ChangeRequest;
    const hash = expectedStateHash(request, withSecret(SECRET), keyed);
    expect(stateMatches(null, hash, keyed)).toBe(true);
    expect(stateMatches(withSecret(SECRET), hash, keyed)).toBe(false);
  });
});
