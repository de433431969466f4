import { ServiceBusClient } from '@azure/service-bus';
import { startAmqpBroker, type AmqpBroker } from '../../local/amqp-broker';
import type { Outcome } from '../../shared/domain/contract/outcome';
import { eventIdFor, ResultEventSchema } from '../../shared/domain/cloud-event';
import { ServiceBusResultPublisher } from '../../shared/adapters/service-bus/result-publisher';
import { LazyServiceBusClient } from '../../shared/adapters/service-bus/service-bus-client';

const TOPIC = 'backend-change-results';
let broker: AmqpBroker;
let lazy: LazyServiceBusClient;
let reader: ServiceBusClient;

beforeAll(async () => {
  broker = await startAmqpBroker({ topics: [{ name: TOPIC, subscriptions: ['all'] }], duplicateDetection: true });
  lazy = new LazyServiceBusClient({ connectionString: broker.connectionString, fullyQualifiedNamespace: undefined });
  reader = new ServiceBusClient(broker.connectionString);
});
afterAll(async () => {
  await reader.close();
  await lazy.close();
  await broker.stop();
});

const target =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1/workspaces/wks1/backends/b1';

function outcome(overrides: Partial<Outcome> = {}): Outcome {
  return {
    requestId: 'pub-1',
    operation: 'update',
    target,
    status: 'succeeded',
    httpStatus: 200,
    attempts: 1,
    durationMs: 5,
    ...overrides,
  };
}

async function receiveAll(count: number) {
  const receiver = reader.createReceiver(TOPIC, 'all', { receiveMode: 'receiveAndDelete' });
  const got = await receiver.receiveMessages(count, { maxWaitTimeInMs: 2000 });
  await receiver.close();
  return got;
}

describe('ServiceBusResultPublisher through the real @azure/service-bus client', () => {
  it('publishes a CloudEvents 1.0 structured message with the properties subscriptions filter on', async () => {
    const time = new Date('2026-11-21T10:00:00Z');
    const publisher = new ServiceBusResultPublisher(lazy, TOPIC, '/apim-backend-changes', () => time);
    await publisher.publish(outcome(), { correlationId: 'corr-9' });
    const [message] = await receiveAll(1);
    expect(message).toBeDefined();
    const event = ResultEventSchema.parse(message!.body);
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/apim-backend-changes',
      type: 'com.apim-backend-changes.backend-change.succeeded',
      subject: target,
      time: '2026-11-21T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: outcome(),
    });
    expect(message!.messageId).toBe(event.id);
    expect(event.id).toBe(eventIdFor(outcome()));
    expect(message!.contentType).toBe('application/cloudevents+json');
    expect(message!.correlationId).toBe('corr-9');
    expect(message!.applicationProperties).toEqual({
      requestId: 'pub-1',
      operation: 'update',
      status: 'succeeded',
      serviceName: 'apimService1',
      backendId: 'b1',
      workspaceId: 'wks1',
    });
  });

  it('gives a re-published outcome the same id (dropped by duplicate detection) and a different result a new one', async () => {
    const publisher = new ServiceBusResultPublisher(lazy, TOPIC, '/apim-backend-changes');
    const transient = outcome({
      requestId: 'pub-2',
      status: 'failed',
      httpStatus: 503,
      error: { code: 'UpstreamUnavailable', message: 'm' },
    });
    const final = outcome({
      requestId: 'pub-2',
      status: 'failed',
      httpStatus: 400,
      error: { code: 'ValidationError', message: 'm' },
    });
    await publisher.publish(transient);
    await publisher.publish(transient);
    await publisher.publish(final);
    const got = await receiveAll(5);
    expect(got.map((m) => (m.body as { data: Outcome }).data.httpStatus)).toEqual([503, 400]);
    expect(new Set(got.map((m) => m.messageId)).size).toBe(2);
  });

  it('throws when the broker is unreachable, so the caller does not settle', async () => {
    const gone = new LazyServiceBusClient({
      connectionString: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
      fullyQualifiedNamespace: undefined,
    });
    const publisher = new ServiceBusResultPublisher(gone, TOPIC, '/apim-backend-changes');
    await expect(publisher.publish(outcome())).rejects.toBeDefined();
    await gone.close();
  }, 60_000);
});
