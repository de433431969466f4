/**
 * The key-path scan that decided which values are secret before the walks carried a secret state (and that the
 * stored fingerprints were made with): the first secret-bearing sequence from the root decides. Kept as the oracle
 * of the property tests that prove the state-carrying walks answer the same.
 */
export function scannedSecretPath(path: readonly string[]): boolean {
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i];
    const next = path[i + 1];
    if (key === 'credentials' && (next === 'header' || next === 'query')) return path.length > i + 2;
    if (key === 'credentials' && next === 'authorization' && path[i + 2] === 'parameter') return true;
    if (key === 'proxy' && next === 'password') return true;
  }
  return false;
}
