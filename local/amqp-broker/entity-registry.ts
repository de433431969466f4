import { DuplicateDetector } from './duplicate-detector';
import type { MessageContent } from './message-content';
import { MessageEntity } from './message-entity';
import type { AmqpErrorValue } from './rhea-internals';
import type { BrokerOptions } from './types';

const DEFAULT_MAX_DELIVERY_COUNT = 10;
const DEFAULT_LOCK_DURATION_MS = 30_000;
const DEAD_LETTER_SUFFIX = '/$DeadLetterQueue';
const SESSION_ID_REQUIRED: AmqpErrorValue = {
  condition: 'amqp:not-allowed',
  description:
    'The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session ' +
    'support enabled can only receive messages that have the SessionId set to a valid value.',
};

/** A queue or topic: what a sender attaches to. Assigns sequence numbers and fans out to its entities. */
export class Publisher {
  private nextSequenceNumber = 1;
  /** Messages senders delivered here, including duplicates that were dropped. */
  acceptedCount = 0;

  constructor(
    readonly name: string,
    /** The queue itself, or every subscription of the topic. */
    private readonly destinations: readonly MessageEntity[],
    private readonly duplicates: DuplicateDetector | undefined,
    private readonly now: () => number,
  ) {}

  /** Why these messages (one send, all or nothing) cannot be accepted here; undefined when they can. */
  refusal(contents: readonly MessageContent[]): AmqpErrorValue | undefined {
    const needsSession = this.destinations.some((destination) => destination.settings.requiresSession);
    if (needsSession && contents.some((content) => content.sessionId === undefined)) return SESSION_ID_REQUIRED;
    return undefined;
  }

  publish(content: MessageContent): void {
    this.acceptedCount++;
    if (this.duplicates && content.messageIdKey !== undefined && this.duplicates.isDuplicate(content.messageIdKey)) {
      return;
    }
    const sequenceNumber = this.nextSequenceNumber++;
    const delay = content.scheduledEnqueueTime === undefined ? 0 : content.scheduledEnqueueTime - this.now();
    if (delay <= 0) {
      this.enqueue(content, sequenceNumber);
      return;
    }
    // A scheduled message appears at its time (also while the listener is stopped: state outlives it).
    // Unref'd so it never keeps a process alive on its own.
    setTimeout(() => this.enqueue(content, sequenceNumber), delay).unref();
  }

  private enqueue(content: MessageContent, sequenceNumber: number): void {
    const enqueuedTime = this.now();
    for (const destination of this.destinations) {
      destination.enqueue({ content, sequenceNumber, enqueuedTime, deliveryCount: 0 });
    }
  }
}

/**
 * Resolves link addresses to queues, topics, subscriptions and dead-letter queues, case-insensitively
 * like Service Bus entity paths.
 */
export class EntityRegistry {
  private readonly publishers = new Map<string, Publisher>();
  private readonly receivables = new Map<string, MessageEntity>();

  constructor(options: BrokerOptions, now: () => number) {
    const duplicates = (): DuplicateDetector | undefined =>
      options.duplicateDetection ? new DuplicateDetector(now) : undefined;
    for (const queue of options.queues ?? []) {
      const entity = this.addEntity(queue.name, queue, now);
      this.publishers.set(key(queue.name), new Publisher(queue.name, [entity], duplicates(), now));
    }
    for (const topic of options.topics ?? []) {
      const subscriptions = topic.subscriptions.map((sub) =>
        this.addEntity(`${topic.name}/Subscriptions/${sub}`, {}, now),
      );
      this.publishers.set(key(topic.name), new Publisher(topic.name, subscriptions, duplicates(), now));
    }
  }

  /** The queue or topic a sender may attach to. */
  publisher(address: string): Publisher | undefined {
    return this.publishers.get(key(address));
  }

  /** The queue, subscription or dead-letter queue a receiver may attach to. */
  receivable(address: string): MessageEntity | undefined {
    return this.receivables.get(key(address));
  }

  /** Every queue, subscription and dead-letter queue. */
  entities(): IterableIterator<MessageEntity> {
    return this.receivables.values();
  }

  private addEntity(
    path: string,
    options: { maxDeliveryCount?: number; lockDurationMs?: number; requiresSession?: boolean },
    now: () => number,
  ): MessageEntity {
    const settings = {
      maxDeliveryCount: options.maxDeliveryCount ?? DEFAULT_MAX_DELIVERY_COUNT,
      lockDurationMs: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    };
    const dlqPath = `${path}${DEAD_LETTER_SUFFIX}`;
    // As in Service Bus, the dead-letter queue of a session-enabled queue is received without sessions.
    const dlq = new MessageEntity({ path: dlqPath, ...settings, requiresSession: false }, undefined, now);
    const entity = new MessageEntity(
      { path, ...settings, requiresSession: options.requiresSession ?? false },
      dlq,
      now,
    );
    this.receivables.set(key(path), entity);
    this.receivables.set(key(dlqPath), dlq);
    return entity;
  }
}

/** Normalizes an address: entity path only (no `sb://host/` prefix, no leading slash), lower case. */
export function key(address: string): string {
  const withoutHost = address.replace(/^[a-z]+:\/\/[^/]+\//i, '');
  return withoutHost.replace(/^\/+/, '').toLowerCase();
}
