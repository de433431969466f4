/** One change request to enqueue: the body (the contract's JSON) and its message id (the requestId). */
export interface QueuedChange {
  body: unknown;
  messageId: string;
  correlationId?: string | undefined;
  sessionId?: string | undefined;
  /** Extra application properties (the trace context: Diagnostic-Id, traceparent). */
  applicationProperties?: Record<string, string> | undefined;
}

/** Sends change requests to the change-request queue. Throws when the queue did not take them. */
export interface ChangeQueue {
  enqueue(changes: QueuedChange[]): Promise<void>;
}
