/** Publishes our circuit-breaker CloudEvents on the results topic, beside the change result events. */
import type { ServiceBusSender } from '@azure/service-bus';
import type { BreakerPublisher } from '../../app/breaker-ports';
import { parseResourceId } from '../../domain/backend-id';
import type { BreakerResultEvent } from '../../domain/breaker-record';
import type { LazyServiceBusClient } from './service-bus-client';

export class ServiceBusBreakerPublisher implements BreakerPublisher {
  private sender: ServiceBusSender | undefined;

  constructor(
    private readonly client: LazyServiceBusClient,
    private readonly topic: string,
  ) {}

  /**
   * One message per event: `messageId` = the event id (derived from API Management's event id, so duplicate
   * detection drops a republished copy), application properties for subscription filters.
   */
  async publish(event: BreakerResultEvent): Promise<void> {
    if (this.sender === undefined || this.sender.isClosed) {
      this.sender = (await this.client.get()).createSender(this.topic);
    }
    const properties: Record<string, string> = {
      state: event.data.state,
      action: event.data.action.taken,
      rule: event.data.rule,
    };
    const parsed = parseResourceId(event.data.backend);
    if (parsed?.kind === 'backend') {
      properties['serviceName'] = parsed.target.serviceName;
      properties['backendId'] = parsed.target.backendId;
      if (parsed.target.workspaceId !== undefined) properties['workspaceId'] = parsed.target.workspaceId;
    }
    // As the Service Bus SDK would set it, when the event carries a trace (telemetry on).
    if (event.traceparent !== undefined) properties['Diagnostic-Id'] = event.traceparent;
    await this.sender.sendMessages({
      body: event,
      contentType: 'application/cloudevents+json',
      messageId: event.id,
      subject: event.type,
      applicationProperties: properties,
    });
  }
}
