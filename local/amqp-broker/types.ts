/** Options for {@link startAmqpBroker}. */
export interface BrokerOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks an ephemeral port. */
  port?: number;
  /**
   * Queues to create. `maxDeliveryCount` defaults to 10, `lockDurationMs` to 30000. `requiresSession` makes the
   * queue session-enabled: every message must carry a `sessionId`, and only session receivers
   * (`acceptSession`/`acceptNextSession`) may receive; see {@link AmqpBroker} for what is supported.
   */
  queues?: Array<{ name: string; maxDeliveryCount?: number; lockDurationMs?: number; requiresSession?: boolean }>;
  /** Topics with their subscriptions (subscriptions use the queue defaults). */
  topics?: Array<{ name: string; subscriptions: string[] }>;
  /** Drop a message whose messageId was already accepted by that queue/topic within the last 10 minutes. */
  duplicateDetection?: boolean;
  /** Largest message (or batch) a sender may send, advertised on attach. Defaults to 1 MiB. */
  maxMessageSizeBytes?: number;
}

/**
 * A running broker.
 *
 * Session-enabled queues support what `ServiceBusClient.acceptSession`/`acceptNextSession` need: a session is
 * locked by one receiver link at a time, its messages are delivered in sequence order, and the lock is released
 * when that link (or its connection) closes, unsettled messages returning with deliveryCount + 1. An
 * `acceptNextSession` waits for a free session with messages up to the client's timeout, then fails with
 * `ServiceTimeout`. Not supported: session state, session-lock renewal and expiry, and other `$management`
 * session operations (receive with `maxAutoLockRenewalDurationInMs: 0`).
 */
export interface AmqpBroker {
  port: number;
  /** Connection string for `new ServiceBusClient(connectionString)` (plain AMQP, development-emulator mode). */
  connectionString: string;
  /** Closes the listener and all connections promptly; state (messages) is kept for {@link AmqpBroker.restart}. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same state (for "broker unavailable, then back" tests). */
  restart(): Promise<void>;
  /** Test/inspection helper: what is in a queue or `topic/Subscriptions/sub` (available, locked, deferred), by sequence number. */
  messages(entity: string): BrokerMessage[];
  /** Test/inspection helper: the dead-letter queue of a queue or `topic/Subscriptions/sub`. */
  deadLetters(entity: string): BrokerMessage[];
  /** Test/inspection helper: how many messages senders delivered to this queue/topic in total (dropped duplicates included). */
  accepted(entity: string): number;
}

/** A stored message as seen by the inspection helpers. */
export interface BrokerMessage {
  messageId?: string;
  correlationId?: string;
  sessionId?: string;
  contentType?: string;
  subject?: string;
  /** Decoded like the SDK does: a JSON data section is parsed, other data stays a Buffer, amqp-value as is. */
  body: unknown;
  applicationProperties: Record<string, unknown>;
  /** Failed delivery attempts so far (what the SDK reports as `deliveryCount` on the next delivery). */
  deliveryCount: number;
  enqueuedTime: Date;
  sequenceNumber: number;
  /** Set on dead-lettered messages. */
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
}
