/**
 * Walks carry whether a value is secret as a small state, one step per key, instead of scanning the key path at
 * every value. The state must decide exactly as the path scan did (that scan is what every redaction, scrub and
 * stored fingerprint was made with): compared here on every path of up to 6 keys over the keys that matter and one
 * that does not.
 */
import { isSecretPath, OUTSIDE, SECRET, secretStateOf, secretStep } from '../../shared/domain/redact';
import { scannedSecretPath } from '../support/scanned-secret-path';

const KEYS = ['credentials', 'header', 'query', 'authorization', 'parameter', 'proxy', 'password', 'other'];

function* paths(max: number): Generator<string[]> {
  yield [];
  if (max === 0) return;
  for (const shorter of paths(max - 1)) if (shorter.length === max - 1) for (const key of KEYS) yield [...shorter, key];
}

describe('the secret state of a walk', () => {
  it('decides as the path scan does, for every path of up to 6 keys', () => {
    let checked = 0;
    for (let length = 0; length <= 6; length++) {
      for (const path of paths(length)) {
        if (path.length !== length) continue;
        const expected = scannedSecretPath(path);
        let state = OUTSIDE;
        for (const key of path) state = secretStep(state, key);
        if ((state === SECRET) !== expected || isSecretPath(path) !== expected || secretStateOf(path) !== state) {
          throw new Error(`differs at ${JSON.stringify(path)}`);
        }
        checked++;
      }
    }
    expect(checked).toBe((8 ** 7 - 1) / 7);
  });
});
