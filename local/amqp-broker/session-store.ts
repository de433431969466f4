import type { Consumer } from './consumer';
import type { EntityMessage } from './message-entity';
import type { AmqpErrorValue } from './rhea-internals';
import { SequenceHeap } from './sequence-heap';

/** How a request to lock a session ended. */
export type SessionAcceptOutcome =
  { kind: 'accepted'; sessionId: string; lockedUntil: number } | { kind: 'refused'; error: AmqpErrorValue };

interface Waiter {
  readonly consumer: Consumer;
  readonly done: (outcome: SessionAcceptOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

/** What Service Bus answers when no session became available within the receiver's timeout. */
const NO_SESSION_AVAILABLE: AmqpErrorValue = {
  condition: 'com.microsoft:timeout',
  description:
    'The operation did not complete within the allocated time: no unlocked session with messages is available.',
};

function sessionLocked(sessionId: string): AmqpErrorValue {
  return {
    condition: 'com.microsoft:session-cannot-be-locked',
    description: `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`,
  };
}

/**
 * The available messages of a session-enabled entity, one sequence-ordered heap per session, and the session
 * locks: each session is held by at most one receiver, which alone gets its messages. Receivers asking for
 * "the next available session" wait here (FIFO) until a session that is not held has messages, or they time out.
 */
export class SessionStore {
  private readonly heaps = new Map<string, SequenceHeap<EntityMessage>>();
  private readonly holders = new Map<string, Consumer>();
  private readonly waiters: Waiter[] = [];

  constructor(
    private readonly lockDurationMs: number,
    private readonly now: () => number,
  ) {}

  /** Adds a message to its session; a free session that now has messages goes to the first waiting receiver. */
  push(message: EntityMessage): void {
    const sessionId = sessionOf(message);
    let heap = this.heaps.get(sessionId);
    if (!heap) {
      heap = new SequenceHeap<EntityMessage>();
      this.heaps.set(sessionId, heap);
    }
    heap.push(message);
    if (!this.holders.has(sessionId)) this.offer(sessionId);
  }

  /** Removes and returns the next message of the session `consumer` holds. */
  take(consumer: Consumer): EntityMessage | undefined {
    const sessionId = consumer.sessionId;
    if (sessionId === undefined || this.holders.get(sessionId) !== consumer) return undefined;
    return this.heaps.get(sessionId)?.pop();
  }

  /**
   * Locks `requested` for `consumer` (refused at once when another receiver holds it; an empty session can be
   * locked), or with `requested` undefined the free session whose oldest message is oldest, waiting up to
   * `timeoutMs` for one. `done` is called exactly once, unless {@link release} cancels the wait first.
   */
  accept(
    consumer: Consumer,
    requested: string | undefined,
    timeoutMs: number,
    done: (outcome: SessionAcceptOutcome) => void,
  ): void {
    if (requested !== undefined) {
      const holder = this.holders.get(requested);
      if (holder !== undefined && holder !== consumer) done({ kind: 'refused', error: sessionLocked(requested) });
      else this.lock(requested, consumer, done);
      return;
    }
    const free = this.oldestFreeSession();
    if (free !== undefined) {
      this.lock(free, consumer, done);
      return;
    }
    const timer = setTimeout(
      () => {
        this.removeWaiter(consumer);
        done({ kind: 'refused', error: NO_SESSION_AVAILABLE });
      },
      Math.max(0, timeoutMs),
    );
    // A waiting receiver must not keep the process alive on its own.
    timer.unref();
    this.waiters.push({ consumer, done, timer });
  }

  /** The receiver went away: cancels its wait, or releases its session (which may go to a waiting receiver). */
  release(consumer: Consumer): void {
    this.removeWaiter(consumer);
    const sessionId = consumer.sessionId;
    if (sessionId === undefined || this.holders.get(sessionId) !== consumer) return;
    this.holders.delete(sessionId);
    const heap = this.heaps.get(sessionId);
    if (heap === undefined || heap.size === 0) this.heaps.delete(sessionId);
    else this.offer(sessionId);
  }

  /** Every available message of every session, in no particular order. */
  values(): EntityMessage[] {
    return [...this.heaps.values()].flatMap((heap) => heap.values());
  }

  /** Cancels all waits (broker shutdown) without answering them: their connections are gone. */
  dispose(): void {
    for (const waiter of this.waiters.splice(0)) clearTimeout(waiter.timer);
  }

  private lock(sessionId: string, consumer: Consumer, done: (outcome: SessionAcceptOutcome) => void): void {
    this.holders.set(sessionId, consumer);
    consumer.sessionId = sessionId;
    done({ kind: 'accepted', sessionId, lockedUntil: this.now() + this.lockDurationMs });
  }

  /** Hands a free session with messages to the longest-waiting receiver, if any. */
  private offer(sessionId: string): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    this.lock(sessionId, waiter.consumer, waiter.done);
  }

  private oldestFreeSession(): string | undefined {
    let best: string | undefined;
    let bestSequence = Infinity;
    for (const [sessionId, heap] of this.heaps) {
      const head = heap.peek();
      if (head === undefined || this.holders.has(sessionId)) continue;
      if (head.sequenceNumber < bestSequence) {
        best = sessionId;
        bestSequence = head.sequenceNumber;
      }
    }
    return best;
  }

  private removeWaiter(consumer: Consumer): void {
    const index = this.waiters.findIndex((waiter) => waiter.consumer === consumer);
    if (index < 0) return;
    const [waiter] = this.waiters.splice(index, 1);
    if (waiter) clearTimeout(waiter.timer);
  }
}

/** Sends without a session id are refused, so this is only a fallback. */
function sessionOf(message: EntityMessage): string {
  return message.content.sessionId ?? '';
}
