import type { ServiceBusMessage, ServiceBusSender } from '@azure/service-bus';
import type { LazyServiceBusClient } from './service-bus-client';
import type { ChangeQueue, QueuedChange } from '../../app/queue-ports';

/** The change-request queue on Service Bus, batched, through a shared lazily created client. */
export class ServiceBusChangeQueue implements ChangeQueue {
  private sender: ServiceBusSender | undefined;

  constructor(
    private readonly client: LazyServiceBusClient,
    private readonly queue: string,
  ) {}

  /** Enqueues all changes, in as few batches as the broker's message size allows. Throws when sending fails. */
  async enqueue(changes: QueuedChange[]): Promise<void> {
    if (changes.length === 0) return;
    if (this.sender === undefined || this.sender.isClosed) {
      this.sender = (await this.client.get()).createSender(this.queue);
    }
    const sender = this.sender;
    let batch = await sender.createMessageBatch();
    for (const change of changes) {
      const message = toMessage(change);
      if (!batch.tryAddMessage(message)) {
        if (batch.count === 0)
          throw new Error(`Change request ${change.messageId} is larger than a Service Bus message.`);
        await sender.sendMessages(batch);
        batch = await sender.createMessageBatch();
        if (!batch.tryAddMessage(message)) {
          throw new Error(`Change request ${change.messageId} is larger than a Service Bus message.`);
        }
      }
    }
    if (batch.count > 0) await sender.sendMessages(batch);
  }
}

function toMessage(change: QueuedChange): ServiceBusMessage {
  const message: ServiceBusMessage = {
    body: change.body,
    messageId: change.messageId,
    contentType: 'application/json',
  };
  if (change.correlationId !== undefined) message.correlationId = change.correlationId;
  if (change.sessionId !== undefined) message.sessionId = change.sessionId;
  if (change.applicationProperties !== undefined) message.applicationProperties = change.applicationProperties;
  return message;
}
