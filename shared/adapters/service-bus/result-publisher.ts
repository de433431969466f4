import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import type { SetOutcome } from '../../domain/contract/change-set';
import type { Outcome } from '../../domain/contract/outcome';
import type { LazyServiceBusClient } from './service-bus-client';
import { eventProperties, toResultEvent, withTrace } from '../../domain/cloud-event';
import type { PublishOptions, ResultPublisher } from '../../app/publisher-ports';
import { SET_EVENT_TYPE_PREFIX, setEventIdFor, type ChangeSetEvent } from '../../domain/change-set-event';
import { redactSecrets } from '../../domain/redact';

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
  async publishChangeSet(outcome: SetOutcome, options: PublishOptions = {}): Promise<void> {
    const sender = await this.getSender();
    await sender.sendMessages(
      toChangeSetMessage(outcome, this.source, this.now(), options.correlationId, options.trace),
    );
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

/** The Service Bus message of a set's result event; application properties `kind`, `requestId`, `status`. */
function toChangeSetMessage(
  outcome: SetOutcome,
  source: string,
  time: Date,
  correlationId: string | undefined,
  trace: PublishOptions['trace'],
): ServiceBusMessage {
  const plain: ChangeSetEvent = {
    specversion: '1.0',
    id: setEventIdFor(outcome),
    source,
    type: `${SET_EVENT_TYPE_PREFIX}.${outcome.status}`,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data: redactSecrets(outcome),
  };
  const event = withTrace(plain, trace);
  const message: ServiceBusMessage = {
    body: event,
    contentType: 'application/cloudevents+json',
    messageId: event.id,
    subject: event.type,
    applicationProperties: { kind: 'changeSet', requestId: outcome.requestId, status: outcome.status },
  };
  if (trace !== undefined) message.applicationProperties!['Diagnostic-Id'] = trace.traceparent;
  if (correlationId !== undefined) message.correlationId = correlationId;
  return message;
}
