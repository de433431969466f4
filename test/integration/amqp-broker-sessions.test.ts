import {
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { startAmqpBroker, type AmqpBroker, type BrokerOptions } from '../../local/amqp-broker';

/**
 * Session-enabled queues of the embedded broker, exercised with the real @azure/service-bus session receivers
 * (acceptSession / acceptNextSession), configured as the local runtime uses them: peekLock, no lock renewal.
 */

const SESSION_OPTIONS = { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 } as const;
/** How long acceptNextSession waits for a session: the SDK sends it to the broker with the attach. */
const ACCEPT_TIMEOUT_MS = 1000;

let broker: AmqpBroker | undefined;
const clients: ServiceBusClient[] = [];

async function setup(options: BrokerOptions): Promise<{ broker: AmqpBroker; client: ServiceBusClient }> {
  broker = await startAmqpBroker(options);
  return { broker, client: newClient(broker) };
}

function newClient(b: AmqpBroker): ServiceBusClient {
  const client = new ServiceBusClient(b.connectionString, {
    retryOptions: { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: ACCEPT_TIMEOUT_MS },
  });
  clients.push(client);
  return client;
}

const sessionQueue = { queues: [{ name: 'ordered', requiresSession: true }] };

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

/** Receives one message at a time and completes it, until `count` arrived: what an ordered consumer does. */
async function drainInOrder(receiver: ServiceBusSessionReceiver, count: number): Promise<unknown[]> {
  const bodies: unknown[] = [];
  const deadline = Date.now() + 5000;
  while (bodies.length < count && Date.now() < deadline) {
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 });
    if (!message) continue;
    bodies.push(message.body);
    await receiver.completeMessage(message);
  }
  return bodies;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await broker?.stop();
  broker = undefined;
});

describe('embedded AMQP broker: session-enabled queues', () => {
  it('delivers each of two interleaved sessions in send order to the receiver that locked it', async () => {
    const { broker, client } = await setup(sessionQueue);
    const sender = client.createSender('ordered');
    const messages = Array.from({ length: 10 }, (_, i) => ({
      body: { session: i % 2 === 0 ? 'a' : 'b', n: i },
      sessionId: i % 2 === 0 ? 'a' : 'b',
    }));
    for (const message of messages) await sender.sendMessages(message);

    const a = await client.acceptSession('ordered', 'a', SESSION_OPTIONS);
    const next = await client.acceptNextSession('ordered', SESSION_OPTIONS);

    expect(a.sessionId).toBe('a');
    expect(next.sessionId).toBe('b'); // 'a' is locked, so the next available session is 'b'
    expect(a.sessionLockedUntilUtc.getTime()).toBeGreaterThan(Date.now());
    const [fromA, fromB] = await Promise.all([drainInOrder(a, 5), drainInOrder(next, 5)]);
    expect(fromA).toEqual([0, 2, 4, 6, 8].map((n) => ({ session: 'a', n })));
    expect(fromB).toEqual([1, 3, 5, 7, 9].map((n) => ({ session: 'b', n })));
    expect(broker.messages('ordered')).toHaveLength(0);
  });

  it('refuses a second receiver for a locked session, and hands it over (unsettled messages back) when the first closes', async () => {
    const { broker, client } = await setup(sessionQueue);
    await client.createSender('ordered').sendMessages([
      { body: 'one', sessionId: 's' },
      { body: 'two', sessionId: 's' },
    ]);
    const first = await client.acceptSession('ordered', 's', SESSION_OPTIONS);
    const [held] = await receive(first, 1);
    expect(held).toMatchObject({ body: 'one', sessionId: 's', deliveryCount: 0 });

    const other = newClient(broker);
    await expect(other.acceptSession('ordered', 's', SESSION_OPTIONS)).rejects.toMatchObject({
      name: 'ServiceBusError',
      code: 'SessionCannotBeLocked',
    });
    await expect(other.acceptNextSession('ordered', SESSION_OPTIONS)).rejects.toMatchObject({
      name: 'ServiceBusError',
    });

    await first.close();

    const second = await other.acceptSession('ordered', 's', SESSION_OPTIONS);
    const again = await receive(second, 2);
    expect(again.map((m) => [m.body, m.deliveryCount])).toEqual([
      ['one', 1],
      ['two', 0],
    ]);
  });

  it('redelivers an abandoned message of a session before the later ones', async () => {
    const { client } = await setup(sessionQueue);
    await client.createSender('ordered').sendMessages([
      { body: 1, sessionId: 's' },
      { body: 2, sessionId: 's' },
      { body: 3, sessionId: 's' },
    ]);
    const receiver = await client.acceptNextSession('ordered', SESSION_OPTIONS);

    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(first!.body).toBe(1);
    await receiver.abandonMessage(first!);

    const rest = await drainInOrder(receiver, 3);
    expect(rest).toEqual([1, 2, 3]);
  });

  it('lets acceptNextSession fail promptly with ServiceTimeout when no session has messages', async () => {
    const { client } = await setup(sessionQueue);

    const started = Date.now();
    await expect(client.acceptNextSession('ordered', SESSION_OPTIONS)).rejects.toMatchObject({
      name: 'ServiceBusError',
      code: 'ServiceTimeout',
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(ACCEPT_TIMEOUT_MS - 200);
    expect(elapsed).toBeLessThan(ACCEPT_TIMEOUT_MS + 1500);
  });

  it('gives a waiting acceptNextSession the session of a message sent while it waits', async () => {
    const { broker, client } = await setup(sessionQueue);
    const waiting = newClient(broker).acceptNextSession('ordered', SESSION_OPTIONS);
    await new Promise((resolve) => setTimeout(resolve, 200));

    await client.createSender('ordered').sendMessages({ body: 'late', sessionId: 'late-session' });

    const receiver = await waiting;
    expect(receiver.sessionId).toBe('late-session');
    const [message] = await receive(receiver, 1);
    expect(message!.body).toBe('late');
  });

  it('refuses a message without sessionId on a session queue, and non-session receivers', async () => {
    const { broker, client } = await setup({ queues: [{ name: 'ordered', requiresSession: true }, { name: 'plain' }] });

    await expect(client.createSender('ordered').sendMessages({ body: 'no session' })).rejects.toMatchObject({
      name: 'ServiceBusError',
      message: expect.stringContaining('SessionId') as unknown,
    });
    // A batch is all or nothing: one message without a session id refuses the lot.
    await expect(
      client.createSender('ordered').sendMessages([{ body: 'ok', sessionId: 's' }, { body: 'missing' }]),
    ).rejects.toMatchObject({ name: 'ServiceBusError' });
    expect(broker.accepted('ordered')).toBe(0);

    await expect(client.createReceiver('ordered', SESSION_OPTIONS).receiveMessages(1)).rejects.toMatchObject({
      name: 'ServiceBusError',
    });
    await expect(client.acceptSession('plain', 's', SESSION_OPTIONS)).rejects.toMatchObject({
      name: 'ServiceBusError',
    });
  });

  it('dead-letters a session message after maxDeliveryCount attempts; its dead-letter queue needs no session', async () => {
    const { broker, client } = await setup({
      queues: [{ name: 'ordered', requiresSession: true, maxDeliveryCount: 2 }],
    });
    await client.createSender('ordered').sendMessages({ body: 'poison', sessionId: 's', messageId: 'p-1' });
    const receiver = await client.acceptSession('ordered', 's', SESSION_OPTIONS);
    for (let attempt = 0; attempt < 2; attempt++) {
      const [message] = await receive(receiver, 1);
      await receiver.abandonMessage(message!);
    }

    expect(broker.messages('ordered')).toHaveLength(0);
    const [dead] = await receive(
      client.createReceiver('ordered', { ...SESSION_OPTIONS, subQueueType: 'deadLetter' }),
      1,
    );
    expect(dead).toMatchObject({ messageId: 'p-1', sessionId: 's', deadLetterReason: 'MaxDeliveryCountExceeded' });
  });
});
