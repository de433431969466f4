/** A clock for tests whose time moves only when the test advances it; sleeps end in time order. */
import type { Clock } from '../../shared/app/clock-ports';

/** Lets every pending promise callback and the timers they start run. */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ManualClock implements Clock {
  private timers: Array<{ at: number; resolve: () => void }> = [];

  /**
   * @param current - the time to start at, epoch ms.
   * @param lateMs - how late each sleep ends beyond what was asked (timers on a busy machine); default never late.
   */
  constructor(
    public current: number,
    private readonly lateMs: () => number = () => 0,
  ) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new Error('aborted'));
        return;
      }
      const timer = { at: this.current + ms + this.lateMs(), resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((t) => t !== timer);
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their callbacks run. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await flush();
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due.at > end) break;
      this.fire(due);
      await flush();
    }
    this.current = end;
    await flush();
  }

  /** Fires timers in time order until `done()` holds or none is left before `limit` (epoch ms). */
  async runUntil(done: () => boolean, limit: number): Promise<void> {
    await flush();
    while (!done()) {
      const due = this.nextDue();
      if (due === undefined || due.at > limit) break;
      this.fire(due);
      await flush();
    }
  }

  private nextDue(): { at: number; resolve: () => void } | undefined {
    let first: { at: number; resolve: () => void } | undefined;
    for (const timer of this.timers) if (first === undefined || timer.at < first.at) first = timer;
    return first;
  }

  private fire(timer: { at: number; resolve: () => void }): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.current = Math.max(this.current, timer.at);
    timer.resolve();
  }
}
