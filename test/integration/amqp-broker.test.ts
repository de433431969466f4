import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { startAmqpBroker, type AmqpBroker, type BrokerOptions } from '../../local/amqp-broker';

/**
 * The embedded broker, exercised with the real @azure/service-bus client. Delivery counts follow
 * Azure Service Bus as seen through this SDK: 0 on the first delivery, +1 per abandon or lock expiry.
 */

const PEEK_LOCK = { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 } as const;

let broker: AmqpBroker | undefined;
const clients: ServiceBusClient[] = [];

async function setup(options: BrokerOptions): Promise<{ broker: AmqpBroker; client: ServiceBusClient }> {
  broker = await startAmqpBroker(options);
  return { broker, client: newClient(broker) };
}

function newClient(b: AmqpBroker): ServiceBusClient {
  const client = new ServiceBusClient(b.connectionString, {
    retryOptions: { maxRetries: 2, retryDelayInMs: 100, timeoutInMs: 5000 },
  });
  clients.push(client);
  return client;
}

/** Receives until `count` messages arrived (bounded by `timeoutMs`). */
async function receive(
  receiver: ServiceBusReceiver,
  count: number,
  timeoutMs = 5000,
): Promise<ServiceBusReceivedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  const received: ServiceBusReceivedMessage[] = [];
  while (received.length < count && Date.now() < deadline) {
    const batch = await receiver.receiveMessages(count - received.length, {
      maxWaitTimeInMs: Math.max(100, deadline - Date.now()),
    });
    received.push(...batch);
  }
  return received;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await broker?.stop();
  broker = undefined;
});

describe('embedded AMQP broker with @azure/service-bus', () => {
  it('round-trips a message through send, receiveMessages and complete', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'orders' }] });
    await client.createSender('orders').sendMessages({
      body: { id: 1, nested: { ok: true } },
      messageId: 'm-1',
      correlationId: 'c-1',
      contentType: 'application/json',
      subject: 'created',
      applicationProperties: { tenant: 'contoso', attempt: 3 },
    });

    const receiver = client.createReceiver('ORDERS', PEEK_LOCK); // entity names are case-insensitive
    const [message] = await receive(receiver, 1);

    expect(message).toMatchObject({
      body: { id: 1, nested: { ok: true } },
      messageId: 'm-1',
      correlationId: 'c-1',
      contentType: 'application/json',
      subject: 'created',
      applicationProperties: { tenant: 'contoso', attempt: 3 },
      deliveryCount: 0,
    });
    expect(message!.sequenceNumber!.toNumber()).toBe(1);
    expect(message!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    expect(broker.messages('orders')).toHaveLength(1); // locked, not gone

    await receiver.completeMessage(message!);

    expect(broker.messages('orders')).toHaveLength(0);
    expect(broker.accepted('orders')).toBe(1);
  });

  it('accepts a batch built with createMessageBatch and keeps its order', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    const sender = client.createSender('q');
    const batch = await sender.createMessageBatch();
    for (const body of ['first', { second: 2 }, 'third']) expect(batch.tryAddMessage({ body })).toBe(true);
    await sender.sendMessages(batch);

    expect(broker.accepted('q')).toBe(3);
    expect(broker.messages('q').map((m) => m.body)).toEqual(['first', { second: 2 }, 'third']);
    const received = await receive(client.createReceiver('q', PEEK_LOCK), 3);
    expect(received.map((m): unknown => m.body)).toEqual(['first', { second: 2 }, 'third']);
  });

  it('redelivers an abandoned message with its delivery count incremented', async () => {
    const { client } = await setup({ queues: [{ name: 'q' }] });
    await client.createSender('q').sendMessages({ body: 'retry me', messageId: 'a-1' });
    const receiver = client.createReceiver('q', PEEK_LOCK);

    const [first] = await receive(receiver, 1);
    expect(first!.deliveryCount).toBe(0);
    await receiver.abandonMessage(first!);

    const [second] = await receive(receiver, 1);
    expect(second).toMatchObject({ messageId: 'a-1', body: 'retry me', deliveryCount: 1 });
    expect(second!.lockToken).not.toBe(first!.lockToken);
  });

  it('moves a dead-lettered message to the dead-letter queue with its reason', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    await client.createSender('q').sendMessages({ body: { bad: true }, messageId: 'd-1' });
    const receiver = client.createReceiver('q', PEEK_LOCK);
    const [message] = await receive(receiver, 1);

    await receiver.deadLetterMessage(message!, { deadLetterReason: 'Invalid', deadLetterErrorDescription: 'no id' });

    expect(broker.messages('q')).toHaveLength(0);
    expect(broker.deadLetters('q')).toMatchObject([{ messageId: 'd-1', deadLetterReason: 'Invalid' }]);
    const dlq = client.createReceiver('q', { ...PEEK_LOCK, subQueueType: 'deadLetter' });
    const [dead] = await receive(dlq, 1);
    expect(dead).toMatchObject({
      messageId: 'd-1',
      body: { bad: true },
      deadLetterReason: 'Invalid',
      deadLetterErrorDescription: 'no id',
      deadLetterSource: 'q',
    });
    await dlq.completeMessage(dead!);
    expect(broker.deadLetters('q')).toHaveLength(0);
  });

  it('dead-letters a message once it has been delivered maxDeliveryCount times', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q', maxDeliveryCount: 3 }] });
    await client.createSender('q').sendMessages({ body: 'poison', messageId: 'p-1' });
    const receiver = client.createReceiver('q', PEEK_LOCK);

    const counts: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const [message] = await receive(receiver, 1);
      counts.push(message!.deliveryCount!);
      await receiver.abandonMessage(message!);
    }

    expect(counts).toEqual([0, 1, 2]);
    expect(broker.messages('q')).toHaveLength(0);
    const [dead] = await receive(client.createReceiver('q', { ...PEEK_LOCK, subQueueType: 'deadLetter' }), 1);
    expect(dead).toMatchObject({ messageId: 'p-1', deadLetterReason: 'MaxDeliveryCountExceeded' });
  });

  it('returns a message whose lock expired, and refuses to complete it with the stale lock', async () => {
    const { client } = await setup({ queues: [{ name: 'q', lockDurationMs: 200 }] });
    await client.createSender('q').sendMessages({ body: 'slow' });
    const receiver = client.createReceiver('q', PEEK_LOCK);
    const [message] = await receive(receiver, 1);

    await new Promise((resolve) => setTimeout(resolve, 400));
    const completion = receiver.completeMessage(message!);

    await expect(completion).rejects.toMatchObject({ name: 'ServiceBusError', code: 'MessageLockLost' });
    const [again] = await receive(receiver, 1);
    expect(again).toMatchObject({ body: 'slow', deliveryCount: 1 });
  });

  it('makes locked messages available again when the receiving connection closes', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    await client.createSender('q').sendMessages({ body: 'held' });
    const other = newClient(broker);
    const [held] = await receive(other.createReceiver('q', PEEK_LOCK), 1);
    expect(held!.deliveryCount).toBe(0);

    await other.close();

    const [redelivered] = await receive(client.createReceiver('q', PEEK_LOCK), 1);
    expect(redelivered).toMatchObject({ body: 'held', deliveryCount: 1 });
  });

  it('copies a topic message to every subscription with its properties intact', async () => {
    const { broker, client } = await setup({ topics: [{ name: 'events', subscriptions: ['audit', 'billing'] }] });
    await client.createSender('events').sendMessages({
      body: { event: 'backend-updated' },
      messageId: 'e-1',
      correlationId: 'corr-9',
      contentType: 'application/json',
      applicationProperties: { kind: 'update', version: 2 },
    });

    expect(broker.accepted('events')).toBe(1);
    for (const subscription of ['audit', 'billing']) {
      const receiver = client.createReceiver('events', subscription, PEEK_LOCK);
      const [message] = await receive(receiver, 1);
      expect(message).toMatchObject({
        body: { event: 'backend-updated' },
        messageId: 'e-1',
        correlationId: 'corr-9',
        contentType: 'application/json',
        applicationProperties: { kind: 'update', version: 2 },
      });
      await receiver.completeMessage(message!);
      expect(broker.messages(`events/Subscriptions/${subscription}`)).toHaveLength(0);
    }
  });

  it('delivers to subscribe() handlers and removes auto-completed messages', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    const sender = client.createSender('q');
    const batch = await sender.createMessageBatch();
    for (let i = 0; i < 50; i++) batch.tryAddMessage({ body: { i } });
    await sender.sendMessages(batch);

    const seen: number[] = [];
    const receiver = client.createReceiver('q', PEEK_LOCK);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} messages arrived`)), 10_000);
      receiver.subscribe(
        {
          processMessage: async (message) => {
            seen.push((message.body as { i: number }).i);
            if (seen.length === 50) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
          processError: async (args) => {
            clearTimeout(timer);
            reject(args.error);
            return Promise.resolve();
          },
        },
        { maxConcurrentCalls: 5 },
      );
    });
    // The SDK completes a message after its handler returns: the last handlers' completions are still on the wire
    // when the 50th message is seen (with TCP_NODELAY they are not held back by Nagle either), so wait for them.
    const until = Date.now() + 5_000;
    while (broker.messages('q').length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await receiver.close();

    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(broker.messages('q')).toHaveLength(0);
  });

  it('removes a message on receipt in receiveAndDelete mode', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    await client.createSender('q').sendMessages({ body: 'once' });
    const [message] = await receive(client.createReceiver('q', { receiveMode: 'receiveAndDelete' }), 1);

    expect(message!.body).toBe('once');
    expect(broker.messages('q')).toHaveLength(0);
  });

  it('drops a duplicate messageId when duplicate detection is on', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }], duplicateDetection: true });
    const sender = client.createSender('q');
    await sender.sendMessages({ body: 'one', messageId: 'same' });
    await sender.sendMessages({ body: 'two', messageId: 'same' });
    await sender.sendMessages({ body: 'three', messageId: 'other' });

    expect(broker.accepted('q')).toBe(3);
    expect(broker.messages('q').map((m) => m.body)).toEqual(['one', 'three']);
  });

  it('holds back a message scheduled for later until its enqueue time', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    const sentAt = Date.now();
    await client.createSender('q').sendMessages({ body: 'later', scheduledEnqueueTimeUtc: new Date(sentAt + 500) });

    expect(broker.messages('q')).toHaveLength(0);
    const [message] = await receive(client.createReceiver('q', PEEK_LOCK), 1);
    expect(message!.body).toBe('later');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(450);
  });

  it('refuses a sender for an entity that does not exist', async () => {
    const { client } = await setup({ queues: [{ name: 'q' }] });

    await expect(client.createSender('missing').sendMessages({ body: 'x' })).rejects.toMatchObject({
      name: 'ServiceBusError',
      code: 'MessagingEntityNotFound',
    });
  });

  it('stops promptly, refuses clients while stopped, and serves the same state after restart', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'q' }] });
    const sender = client.createSender('q');
    await sender.sendMessages({ body: 'before' });

    const started = Date.now();
    await broker.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(newClient(broker).createSender('q').sendMessages({ body: 'during' })).rejects.toThrow();

    await broker.restart();
    await sender.sendMessages({ body: 'after' }); // the existing client reconnects
    expect(broker.messages('q').map((m) => m.body)).toEqual(['before', 'after']);
    const received = await receive(newClient(broker).createReceiver('q', PEEK_LOCK), 2);
    expect(received.map((m): unknown => m.body)).toEqual(['before', 'after']);
  });

  it('moves thousands of messages without stalling', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'bulk' }] });
    const sender = client.createSender('bulk');
    const total = 3000;
    let batch = await sender.createMessageBatch();
    for (let i = 0; i < total; i++) {
      if (!batch.tryAddMessage({ body: { i } })) {
        await sender.sendMessages(batch);
        batch = await sender.createMessageBatch();
        batch.tryAddMessage({ body: { i } });
      }
    }
    await sender.sendMessages(batch);
    expect(broker.accepted('bulk')).toBe(total);

    const receiver = client.createReceiver('bulk', PEEK_LOCK);
    let received = 0;
    const deadline = Date.now() + 20_000;
    while (received < total && Date.now() < deadline) {
      const messages = await receiver.receiveMessages(500, { maxWaitTimeInMs: 1000 });
      await Promise.all(messages.map((m) => receiver.completeMessage(m)));
      received += messages.length;
    }

    expect(received).toBe(total);
    expect(broker.messages('bulk')).toHaveLength(0);
  }, 30_000);
});
