/**
 * A per-key FIFO queue: work for one key (a backend's lower-cased ARM id) runs one at a time, in arrival order,
 * while different keys run in parallel. Concurrent writes to one backend would otherwise race for its ETag: each
 * loser re-reads and re-sends (a 412, a read and a write per lost race), so 50 concurrent changes cost about 600
 * ARM requests instead of 100. Queued, each change reads the ETag once and writes once.
 *
 * Waits are bounded (a change's deadline) and abortable (its signal): a change that cannot start in time ends
 * without running, and leaves the queue at once.
 */

/** How a queued piece of work ended. */
export type Queued<T> = { kind: 'done'; value: T } | { kind: 'expired' };

/** The per-process queue. */
export interface TargetQueue {
  /** Runs `work` once every earlier work for `key` has ended; `expired` when `deadline` passed or `signal` aborted first. */
  run<T>(
    key: string,
    work: () => Promise<T>,
    options?: { deadline?: number; signal?: AbortSignal },
  ): Promise<Queued<T>>;
  /** Keys with work running or waiting (for tests: the map must not grow without bound). */
  size(): number;
}

interface Waiter {
  start: () => void;
}

/** Creates an empty queue. `now` is the clock deadlines are measured on (epoch ms). */
export function createTargetQueue(now: () => number = Date.now): TargetQueue {
  /** Per key: whether work runs, and who waits. A key without either is removed. */
  const lanes = new Map<string, { running: boolean; waiting: Waiter[] }>();

  const next = (key: string): void => {
    const lane = lanes.get(key);
    if (lane === undefined) return;
    const waiter = lane.waiting.shift();
    if (waiter === undefined) {
      lanes.delete(key);
      return;
    }
    waiter.start();
  };

  const acquire = (key: string, deadline: number | undefined, signal: AbortSignal | undefined): Promise<boolean> => {
    let lane = lanes.get(key);
    if (lane === undefined) {
      lane = { running: true, waiting: [] };
      lanes.set(key, lane);
      return Promise.resolve(true);
    }
    if (signal?.aborted === true || (deadline !== undefined && now() >= deadline)) return Promise.resolve(false);
    const current = lane;
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (): void => {
        const index = current.waiting.indexOf(waiter);
        if (index >= 0) current.waiting.splice(index, 1);
        cleanup();
        resolve(false);
      };
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', leave);
      };
      const waiter: Waiter = {
        start: () => {
          cleanup();
          resolve(true);
        },
      };
      current.waiting.push(waiter);
      signal?.addEventListener('abort', leave, { once: true });
      if (deadline !== undefined) timer = setTimeout(leave, Math.max(0, deadline - now()));
    });
  };

  return {
    async run<T>(
      key: string,
      work: () => Promise<T>,
      options: { deadline?: number; signal?: AbortSignal } = {},
    ): Promise<Queued<T>> {
      if (!(await acquire(key, options.deadline, options.signal))) return { kind: 'expired' };
      try {
        return { kind: 'done', value: await work() };
      } finally {
        next(key);
      }
    },
    size: () => lanes.size,
  };
}
