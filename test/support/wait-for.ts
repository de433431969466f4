/**
 * Polls `probe` until it returns a value, for tests that wait for something another process or the broker does;
 * throws naming `what` after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 20_000,
  intervalMs = 25,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
