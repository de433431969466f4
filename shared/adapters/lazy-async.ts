/** An asynchronously created value: created on first `get()`, shared by concurrent and later callers. */
export interface LazyAsync<T> {
  get(): Promise<T>;
  /** The creation started so far (settled or not), forgotten: the next `get()` creates anew. For closing. */
  take(): Promise<T> | undefined;
}

/**
 * A value created on first use, once for all callers; a creation that fails is forgotten, so the next call tries
 * again instead of every later call receiving the cached failure for the life of the process (a credential, a
 * connection or a table that was briefly unreachable at the first call).
 */
export function lazyAsync<T>(create: () => Promise<T>): LazyAsync<T> {
  let pending: Promise<T> | undefined;
  return {
    get(): Promise<T> {
      if (pending === undefined) {
        const attempt: Promise<T> = create().catch((error: unknown) => {
          if (pending === attempt) pending = undefined;
          throw error;
        });
        pending = attempt;
      }
      return pending;
    },
    take(): Promise<T> | undefined {
      const taken = pending;
      pending = undefined;
      return taken;
    },
  };
}
