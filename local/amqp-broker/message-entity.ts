import { randomUUID } from 'node:crypto';
import type { Consumer } from './consumer';
import { encodeDelivery, type DeliveryFields, type MessageContent } from './message-content';
import {
  amqpMessage,
  type AmqpErrorValue,
  type DispositionState,
  type OutgoingDelivery,
  type Typed,
} from './rhea-internals';
import { SequenceHeap } from './sequence-heap';
import { SessionStore, type SessionAcceptOutcome } from './session-store';

/** One message held by one entity (a topic message has one of these per subscription). */
export interface EntityMessage {
  readonly content: MessageContent;
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  /** Failed delivery attempts so far; sent as the AMQP header delivery-count. */
  deliveryCount: number;
  deadLetter?: { source: string; reason?: string; description?: string };
}

interface Lock {
  readonly message: EntityMessage;
  readonly consumer: Consumer;
  readonly delivery: OutgoingDelivery;
  readonly lockedUntil: number;
}

/** Settings of a queue or subscription. */
export interface EntitySettings {
  /** Canonical path: `queue`, `topic/Subscriptions/sub`, or either with `/$DeadLetterQueue`. */
  readonly path: string;
  readonly maxDeliveryCount: number;
  readonly lockDurationMs: number;
  /** Session-enabled: messages are grouped by session id and only session receivers get them. */
  readonly requiresSession: boolean;
}

const LOCK_LOST: AmqpErrorValue = {
  condition: 'com.microsoft:message-lock-lost',
  description:
    'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
};
const ALREADY_DEAD_LETTERED: AmqpErrorValue = {
  condition: 'amqp:not-allowed',
  description: 'Cannot dead-letter a message that is already in a dead-letter queue.',
};
const DEAD_LETTER_CONDITION = 'com.microsoft:dead-letter';
const NOT_SESSIONFUL: AmqpErrorValue = {
  condition: 'amqp:not-allowed',
  description:
    'It is not possible for an entity that does not require sessions to create a sessionful message receiver.',
};

/**
 * A queue or subscription (or a dead-letter queue): available messages in sequence order, peek-locks with
 * expiry, and the receivers attached to it. All operations are O(log n) or better per message (per session
 * receiver on a session-enabled entity).
 */
export class MessageEntity {
  /** Available messages of an entity without sessions. */
  private readonly available = new SequenceHeap<EntityMessage>();
  /** Available messages and session locks of a session-enabled entity. */
  private readonly sessions: SessionStore | undefined;
  /** Keyed by delivery tag (the lock token) in hex. Insertion order is expiry order: every lock has the same duration. */
  private readonly locks = new Map<string, Lock>();
  private readonly deferred = new Map<number, EntityMessage>();
  private readonly consumers: Consumer[] = [];
  private nextConsumer = 0;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly settings: EntitySettings,
    /** Where dead-lettered messages go; undefined for a dead-letter queue itself. */
    readonly deadLetterQueue: MessageEntity | undefined,
    private readonly now: () => number,
  ) {
    this.sessions = settings.requiresSession ? new SessionStore(settings.lockDurationMs, now) : undefined;
  }

  /** Adds a message and hands it to a waiting receiver if there is one. */
  enqueue(message: EntityMessage): void {
    this.makeAvailable(message);
    this.pump();
  }

  /**
   * A session receiver asks for a session lock (`requested` undefined: the next free session with messages,
   * waiting up to `timeoutMs`). On success the receiver is added and `done` is called before any delivery.
   */
  acceptSession(
    consumer: Consumer,
    requested: string | undefined,
    timeoutMs: number,
    done: (outcome: SessionAcceptOutcome) => void,
  ): void {
    if (!this.sessions) {
      done({ kind: 'refused', error: NOT_SESSIONFUL });
      return;
    }
    this.sessions.accept(consumer, requested, timeoutMs, (outcome) => {
      done(outcome);
      if (outcome.kind === 'accepted') this.addConsumer(consumer);
    });
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.pump();
  }

  /** A receiver went away (link detached or connection lost): its locked messages become available again. */
  removeConsumer(consumer: Consumer): void {
    // First release the session (or cancel the wait for one), so the messages returned below are not its any more.
    this.sessions?.release(consumer);
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    for (const [token, lock] of this.locks) {
      if (lock.consumer !== consumer) continue;
      this.locks.delete(token);
      this.abandon(lock.message);
    }
    this.pump();
  }

  /** Sends available messages to receivers that have credit, round-robin (each session only to its holder). */
  pump(): void {
    if (this.sessions) {
      for (const consumer of this.consumers) this.pumpSession(this.sessions, consumer);
      return;
    }
    while (this.available.size > 0) {
      const consumer = this.nextConsumerWithCapacity();
      if (!consumer) return;
      this.deliver(consumer, this.available.pop() as EntityMessage);
    }
  }

  /** A receiver settled (or tried to settle) a message we sent it. Answers with a settled disposition. */
  onDisposition(consumer: Consumer, delivery: OutgoingDelivery): void {
    const state = delivery.remote_state;
    const outcome = state?.constructor.composite_type;
    if (consumer.mode === 'receiveAndDelete' || outcome === undefined) return;
    const token = delivery.tag.toString('hex');
    const lock = this.locks.get(token);
    if (!lock || lock.delivery !== delivery) {
      delivery.update(true, amqpMessage.rejected({ error: LOCK_LOST }).described());
      return;
    }
    if (outcome === 'rejected' && !this.deadLetterQueue) {
      // Service Bus refuses to dead-letter a dead-lettered message; the message stays locked.
      delivery.update(true, amqpMessage.rejected({ error: ALREADY_DEAD_LETTERED }).described());
      return;
    }
    this.locks.delete(token);
    switch (outcome) {
      case 'accepted':
        break;
      case 'rejected':
        this.moveToDeadLetter(lock.message, deadLetterDetails(state?.error));
        break;
      case 'modified':
        if (state?.undeliverable_here) this.deferred.set(lock.message.sequenceNumber, lock.message);
        else this.abandon(lock.message);
        break;
      default:
        // released: the receiver gave the message back.
        this.abandon(lock.message);
    }
    delivery.update(true, echoOutcome(outcome, state));
    this.pump();
  }

  /** Available, locked and deferred messages, by sequence number. */
  snapshot(): Array<{ message: EntityMessage; fields: DeliveryFields }> {
    const all = [
      ...this.available.values(),
      ...(this.sessions?.values() ?? []),
      ...[...this.locks.values()].map((l) => l.message),
      ...this.deferred.values(),
    ];
    all.sort((a, b) => a.sequenceNumber - b.sequenceNumber);
    return all.map((message) => ({ message, fields: deliveryFields(message) }));
  }

  /** Stops the lock-expiry timer (broker shutdown). */
  dispose(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.sessions?.dispose();
  }

  private makeAvailable(message: EntityMessage): void {
    if (this.sessions) this.sessions.push(message);
    else this.available.push(message);
  }

  /** Delivers the held session's messages in sequence order while the receiver has credit. */
  private pumpSession(sessions: SessionStore, consumer: Consumer): void {
    while (consumer.capacity() > 0) {
      const message = sessions.take(consumer);
      if (!message) return;
      this.deliver(consumer, message);
    }
  }

  private nextConsumerWithCapacity(): Consumer | undefined {
    const count = this.consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.nextConsumer + i) % count;
      const consumer = this.consumers[index] as Consumer;
      if (consumer.capacity() > 0) {
        this.nextConsumer = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private deliver(consumer: Consumer, message: EntityMessage): void {
    const tag = uuidBytes();
    if (consumer.mode === 'receiveAndDelete') {
      consumer.send(encodeDelivery(message.content, deliveryFields(message)), tag);
      return;
    }
    const lockedUntil = this.now() + this.settings.lockDurationMs;
    const payload = encodeDelivery(message.content, { ...deliveryFields(message), lockedUntil, lockToken: tag });
    const delivery = consumer.send(payload, tag);
    this.locks.set(tag.toString('hex'), { message, consumer, delivery, lockedUntil });
    this.scheduleExpiry();
  }

  /** Returns a message to the entity after a failed attempt, or dead-letters it when attempts are used up. */
  private abandon(message: EntityMessage): void {
    if (!this.deadLetterQueue) {
      // Service Bus does not count attempts in a dead-letter queue.
      this.makeAvailable(message);
      return;
    }
    message.deliveryCount++;
    if (message.deliveryCount >= this.settings.maxDeliveryCount) {
      this.moveToDeadLetter(message, {
        reason: 'MaxDeliveryCountExceeded',
        description: `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      });
      return;
    }
    this.makeAvailable(message);
  }

  private moveToDeadLetter(message: EntityMessage, details: { reason?: string; description?: string }): void {
    const dlq = this.deadLetterQueue;
    if (!dlq) return;
    message.deadLetter = { source: this.settings.path, ...details };
    dlq.enqueue(message);
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer || this.locks.size === 0) return;
    const first = this.locks.values().next().value as Lock;
    const delay = Math.max(0, first.lockedUntil - this.now());
    this.expiryTimer = setTimeout(() => this.expireLocks(), delay + 1);
    // A pending expiry must not keep a test process (or the local runtime) alive on its own.
    this.expiryTimer.unref();
  }

  private expireLocks(): void {
    this.expiryTimer = undefined;
    const now = this.now();
    for (const [token, lock] of this.locks) {
      if (lock.lockedUntil > now) break;
      this.locks.delete(token);
      this.abandon(lock.message);
    }
    this.scheduleExpiry();
    this.pump();
  }
}

function deliveryFields(message: EntityMessage): DeliveryFields {
  return {
    deliveryCount: message.deliveryCount,
    sequenceNumber: message.sequenceNumber,
    enqueuedTime: message.enqueuedTime,
    ...(message.deadLetter ? { deadLetter: message.deadLetter } : {}),
  };
}

/** The SDK's deadLetter sends `rejected` with condition com.microsoft:dead-letter and the reason in `info`. */
function deadLetterDetails(error: AmqpErrorValue | undefined): { reason?: string; description?: string } {
  if (!error || error.condition !== DEAD_LETTER_CONDITION) {
    return { reason: 'Rejected', ...(error?.description ? { description: error.description } : {}) };
  }
  const reason = error.info?.['DeadLetterReason'];
  const description = error.info?.['DeadLetterErrorDescription'];
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof description === 'string' ? { description } : {}),
  };
}

/**
 * The outcome the broker settles with: the receiver's own, minus any error. The SDK treats an error on
 * the broker's disposition as a failed settlement, and a rejected (dead-letter) outcome carries one.
 */
function echoOutcome(outcome: string, state: DispositionState | undefined): Typed {
  switch (outcome) {
    case 'accepted':
      return amqpMessage.accepted().described();
    case 'rejected':
      return amqpMessage.rejected({}).described();
    case 'modified':
      return amqpMessage
        .modified({
          delivery_failed: state?.delivery_failed ?? false,
          undeliverable_here: state?.undeliverable_here ?? false,
        })
        .described();
    default:
      return amqpMessage.released().described();
  }
}

function uuidBytes(): Buffer {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
}
