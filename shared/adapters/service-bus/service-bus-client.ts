import type { ServiceBusClient } from '@azure/service-bus';
import { noDelayForDevelopmentEndpoint } from './amqp-no-delay';
import { defaultAzureCredential } from '../identity';
import { lazyAsync, type LazyAsync } from '../lazy-async';

/** How to reach Service Bus: a connection string, or a namespace with a managed identity. */
export interface ServiceBusSettings {
  connectionString: string | undefined;
  fullyQualifiedNamespace: string | undefined;
  clientId?: string | undefined;
}

/**
 * Creates a Service Bus client from the `ServiceBusConnection` settings. The SDK is loaded on first use, so a
 * process that never talks to Service Bus (an HTTP-only request path, a unit test) does not pay for it.
 */
async function createServiceBusClient(settings: ServiceBusSettings): Promise<ServiceBusClient> {
  const { ServiceBusClient } = await import('@azure/service-bus');
  // Bounded retries of the SDK's own policy (a well-kept one): transient broker errors are retried, then thrown.
  const options = { retryOptions: { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 4000, timeoutInMs: 20000 } };
  if (settings.connectionString !== undefined) {
    noDelayForDevelopmentEndpoint(settings.connectionString);
    return new ServiceBusClient(settings.connectionString, options);
  }
  if (settings.fullyQualifiedNamespace !== undefined) {
    return new ServiceBusClient(settings.fullyQualifiedNamespace, defaultAzureCredential(settings.clientId), options);
  }
  throw new Error('Set ServiceBusConnection or ServiceBusConnection__fullyQualifiedNamespace.');
}

/**
 * A lazily created, shared Service Bus client: created on first `get()`, reused across invocations, closed once.
 * Concurrent first calls share one creation.
 */
export class LazyServiceBusClient {
  private readonly client: LazyAsync<ServiceBusClient>;
  constructor(settings: ServiceBusSettings) {
    this.client = lazyAsync(() => createServiceBusClient(settings));
  }

  /** The client, created on first use. */
  get(): Promise<ServiceBusClient> {
    return this.client.get();
  }

  /** Closes the client if it was created. */
  async close(): Promise<void> {
    const client = this.client.take();
    if (client) await (await client).close();
  }
}
