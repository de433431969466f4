/**
 * The circuit-breaker adapters created with the other services (functions/composition-root.ts): the breaker records
 * beside the change ledger and the publisher on the results topic.
 */
import { ServiceBusBreakerPublisher } from '../shared/adapters/service-bus/breaker-publisher';
import { createMemoryBreakerStore } from '../shared/adapters/breaker-store/memory-breaker-store';
import { createTableBreakerStore } from '../shared/adapters/breaker-store/table-breaker-store';
import type { BreakerPublisher, BreakerStore } from '../shared/app/breaker-ports';
import type { Config } from '../shared/config/settings';
import { defaultAzureCredential } from '../shared/adapters/identity';
import type { LazyServiceBusClient } from '../shared/adapters/service-bus/service-bus-client';

/** The breaker records and publisher, created with the other services. */
export interface BreakerAdapters {
  store: BreakerStore;
  publisher: BreakerPublisher;
}

export function createBreakerAdapters(config: Config, serviceBus: LazyServiceBusClient): BreakerAdapters {
  return {
    store: createBreakerStore(config),
    publisher: new ServiceBusBreakerPublisher(serviceBus, config.resultsTopic),
  };
}

/** Beside the change ledger (same account, its own table); in memory when the app has no storage account. */
function createBreakerStore(config: Config): BreakerStore {
  const { connectionString, tableServiceUri, clientId, tableName } = config.ledger;
  if (connectionString !== undefined) return createTableBreakerStore({ connectionString, tableName });
  if (tableServiceUri === undefined) return createMemoryBreakerStore();
  const credential = defaultAzureCredential(clientId ?? config.azureClientId, 'https://storage.azure.com/.default');
  return createTableBreakerStore({ endpoint: tableServiceUri, credential, tableName });
}
