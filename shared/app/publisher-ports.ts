import type { SetOutcome } from '../domain/contract/change-set';
import type { Outcome } from '../domain/contract/outcome';

/** How to publish: the request's correlation id, and the trace the event continues (CloudEvents distributed tracing). */
export interface PublishOptions {
  correlationId?: string | undefined;
  trace?: { traceparent: string; tracestate?: string } | undefined;
}

/** Publishes outcomes as result events. Throws when the event could not be published (the caller must not settle). */
export interface ResultPublisher {
  publish(outcome: Outcome, options?: PublishOptions): Promise<void>;
  /** Publishes the one event of a change set (its items' events go through `publish`). */
  publishChangeSet(outcome: SetOutcome, options?: PublishOptions): Promise<void>;
  /** Optionally prepares the connection before the first publish. */
  warm?(): Promise<void>;
}
