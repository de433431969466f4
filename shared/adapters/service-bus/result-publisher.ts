import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import type { SetOutcome } from '../../domain/contract/change-set';
import type { Outcome } from '../../domain/contract/outcome';
import type { LazyServiceBusClient } from './service-bus-client';
import { toChangeSetMessage } from '../../domain/change-set-event';
import { eventProperties, toResultEvent } from '../../domain/cloud-event';

/** How to publish: the request's correlation id, and the trace the event continues (CloudEvents distributed tracing). */
export interface PublishOptions {
  correlationId?: string | undefined;
  trace?: { traceparent: string; tracestate?: string } | undefined;
}

/** Publishes outcomes as result events. Throws when the event could not be published (the caller must not settle). */
export interface ResultPublisher {
  publish(outcome: Outcome, options?: PublishOptions): Promise<void>;
  /** Publishes the one event of a change set (its items' events go through `publish`). */
  publishChangeSet(outcome: SetOutcome, options?: { correlationId?: string | undefined }): Promise<void>;
  /** Optionally prepares the connection before the first publish. */
  warm?(): Promise<void>;
}

/** Builds the Service Bus message of an outcome's result event. */
export function toResultMessage(
  outcome: Outcome,
  source: string,
  time: Date,
  correlationId: string | undefined,
  trace?: PublishOptions['trace'],
): ServiceBusMessage {
  const event = toResultEvent(outcome, source, time, trace);
  const message: ServiceBusMessage = {
    body: event,
    contentType: 'application/cloudevents+json',
    messageId: event.id,
    subject: event.type,
    applicationProperties: eventProperties(outcome),
  };
  // As the Service Bus SDK would set it, so a consumer's own tracing continues the trace too.
  if (trace !== undefined) message.applicationProperties!['Diagnostic-Id'] = trace.traceparent;
  if (correlationId !== undefined) message.correlationId = correlationId;
  return message;
}

/** Publishes result events to a Service Bus topic through a shared, lazily created client and sender. */
export class ServiceBusResultPublisher implements ResultPublisher {
  private sender: ServiceBusSender | undefined;

  constructor(
    private readonly client: LazyServiceBusClient,
    private readonly topic: string,
    private readonly source: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Sends one result event; the SDK retries transient broker errors, and a final failure is thrown. */
  async publish(outcome: Outcome, options: PublishOptions = {}): Promise<void> {
    const sender = await this.getSender();
    await sender.sendMessages(toResultMessage(outcome, this.source, this.now(), options.correlationId, options.trace));
  }

  /** Sends a change set's event; a final failure is thrown. */
  async publishChangeSet(outcome: SetOutcome, options: { correlationId?: string | undefined } = {}): Promise<void> {
    const sender = await this.getSender();
    await sender.sendMessages(toChangeSetMessage(outcome, this.source, this.now(), options.correlationId));
  }

  /**
   * Opens the connection and the topic link ahead of the first publish (every invocation publishes, so the cost is
   * never wasted). Failures are left for the first real publish to report.
   */
  async warm(): Promise<void> {
    try {
      await (await this.getSender()).createMessageBatch();
    } catch {
      // The first publish retries and reports.
    }
  }

  private async getSender(): Promise<ServiceBusSender> {
    if (this.sender === undefined || this.sender.isClosed) {
      this.sender = (await this.client.get()).createSender(this.topic);
    }
    return this.sender;
  }
}
