/**
 * The app's Azure identity: one DefaultAzureCredential per process (and per client id), shared by ARM, the ledger's
 * storage and Service Bus, so its token cache and managed-identity probing are shared too. `@azure/identity` is heavy
 * and unused on the token and emulator paths, so it is loaded on first use.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { lazyAsync, type LazyAsync } from './lazy-async';

const credentials = new Map<string, LazyAsync<TokenCredential>>();

/**
 * DefaultAzureCredential with `managedIdentityClientId: clientId` (a user-assigned managed identity when given;
 * AZURE_CLIENT_ID), created on its first token request. A call without scopes asks for `defaultScope`.
 */
export function defaultAzureCredential(clientId: string | undefined, defaultScope?: string): TokenCredential {
  const key = clientId ?? '';
  let shared = credentials.get(key);
  if (shared === undefined) {
    shared = lazyAsync(async () => {
      const { DefaultAzureCredential } = await import('@azure/identity');
      return key === '' ? new DefaultAzureCredential() : new DefaultAzureCredential({ managedIdentityClientId: key });
    });
    credentials.set(key, shared);
  }
  const credential = shared;
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const wanted = defaultScope !== undefined && scopes.length === 0 ? defaultScope : scopes;
      return (await credential.get()).getToken(wanted, options);
    },
  };
}
