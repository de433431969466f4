/**
 * The Azure Table client of the ledger: from the Functions app's storage connection string (`AzureWebJobsStorage`),
 * or from a table endpoint and a token credential (identity-based `AzureWebJobsStorage__tableServiceUri`).
 */
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/core-auth';

/** Where the ledger table lives. */
export type LedgerTableOptions = { tableName: string } & (
  { connectionString: string } | { endpoint: string; credential: TokenCredential }
);

// Azure's rule for table names.
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

/**
 * A TableClient for the ledger table. Plain HTTP is allowed only for a loopback endpoint (Azurite): elsewhere the
 * request signature must not travel unencrypted. Throws for an invalid table name (a configuration error).
 */
export function createLedgerTableClient(options: LedgerTableOptions): TableClient {
  if (!TABLE_NAME.test(options.tableName)) {
    throw new RangeError(
      `Invalid ledger table name '${options.tableName}': 3–63 letters and digits, starting with a letter.`,
    );
  }
  if ('connectionString' in options) {
    const allowInsecureConnection = isLoopbackHttp(tableEndpointOf(options.connectionString));
    return TableClient.fromConnectionString(options.connectionString, options.tableName, { allowInsecureConnection });
  }
  return new TableClient(options.endpoint, options.tableName, options.credential, {
    allowInsecureConnection: isLoopbackHttp(options.endpoint),
  });
}

/** The table endpoint a connection string names (explicitly, or the emulator's for `UseDevelopmentStorage=true`). */
function tableEndpointOf(connectionString: string): string | undefined {
  const settings = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) settings.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (settings.get('usedevelopmentstorage')?.toLowerCase() === 'true') return 'http://127.0.0.1:10002';
  return settings.get('tableendpoint');
}

function isLoopbackHttp(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    const url = new URL(endpoint);
    return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}
