/**
 * A FIFO of callers waiting for permission, released by one timer at the times a gate names. Every wait is bounded:
 * it ends when its caller's signal aborts or its deadline passes, and a queue nobody waits in keeps no timer.
 */
import type { Clock } from '../../app/clock-ports';

/** Decides who may go: the queue asks it, and holds the rest until the time it names. */
export interface ReleaseGate<T> {
  /** Takes the right for one waiter at `now`, or undefined when none may go now. */
  take(now: number): T | undefined;
  /** When the next waiter may go, or undefined when only an outside event (then {@link WaiterQueue.pump}) can tell. */
  nextAt(now: number): number | undefined;
}

/** How a wait ended: with what the gate gave, at its deadline (at `position` in the queue then), or aborted. */
export type QueueWait<T> =
  { kind: 'granted'; value: T } | { kind: 'deadline'; at: number; position: number } | { kind: 'aborted' };

interface Waiter<T> {
  finish(result: QueueWait<T>): void;
}

/** The waiters of one gate. Not re-entrant: a gate must not call back into its queue. */
export class WaiterQueue<T> {
  private readonly waiters: Array<Waiter<T>> = [];
  private timer: AbortController | undefined;
  private timerAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly gate: ReleaseGate<T>,
  ) {}

  /** How many wait. */
  get length(): number {
    return this.waiters.length;
  }

  /** Waits behind everyone already waiting, until the gate lets this caller go, `signal` aborts or `deadline` passes. */
  wait(signal: AbortSignal | undefined, deadline: number | undefined): Promise<QueueWait<T>> {
    if (signal?.aborted) return Promise.resolve({ kind: 'aborted' });
    const now = this.clock.now();
    return new Promise<QueueWait<T>>((resolve) => {
      const deadlineTimer = deadline === undefined ? undefined : new AbortController();
      let done = false;
      const onAbort = (): void => {
        this.remove(waiter);
        waiter.finish({ kind: 'aborted' });
      };
      const waiter: Waiter<T> = {
        finish: (result) => {
          if (done) return;
          done = true;
          signal?.removeEventListener('abort', onAbort);
          deadlineTimer?.abort();
          resolve(result);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== undefined && deadlineTimer !== undefined) {
        this.clock.sleep(Math.max(0, deadline - now), deadlineTimer.signal).then(
          () => {
            if (done) return;
            const position = this.waiters.indexOf(waiter);
            this.remove(waiter);
            waiter.finish({ kind: 'deadline', at: this.clock.now(), position: Math.max(0, position) });
          },
          () => undefined, // cancelled: the waiter was released or aborted first
        );
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Releases every waiter the gate allows now, then arms the timer for the next one. Call when the gate may open. */
  pump(): void {
    if (this.waiters.length === 0) return;
    const now = this.clock.now();
    for (;;) {
      if (this.waiters.length === 0) break;
      const value = this.gate.take(now);
      if (value === undefined) break;
      this.waiters.shift()?.finish({ kind: 'granted', value });
    }
    const at = this.waiters.length === 0 ? undefined : this.gate.nextAt(now);
    if (at === undefined) this.disarm();
    else this.arm(at, now);
  }

  private remove(waiter: Waiter<T>): void {
    const index = this.waiters.indexOf(waiter);
    if (index !== -1) this.waiters.splice(index, 1);
    if (this.waiters.length === 0) this.disarm();
  }

  private arm(at: number, now: number): void {
    if (this.timer !== undefined && this.timerAt === at) return;
    this.disarm();
    const timer = new AbortController();
    this.timer = timer;
    this.timerAt = at;
    this.clock.sleep(Math.max(0, at - now), timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.pump();
      },
      () => undefined, // re-armed or no longer needed
    );
  }

  private disarm(): void {
    this.timer?.abort();
    this.timer = undefined;
  }
}
