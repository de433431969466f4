/**
 * The app's Azure identity: one DefaultAzureCredential per process (and per client id), shared by ARM, the ledger's
 * storage and Service Bus, so its token cache and managed-identity probing are shared too. `@azure/identity` is heavy
 * and unused on the token and emulator paths, so it is loaded on first use. In an App Service or Functions app whose
 * managed identity DefaultAzureCredential would use, tokens come straight from the platform's identity endpoint
 * (app-service-identity.ts) and `@azure/identity` is loaded only if that endpoint fails to give one.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { appServiceIdentity, appServiceTokens, type AppServiceTokens } from './app-service-identity';
import { lazyAsync, type LazyAsync } from './lazy-async';

const credentials = new Map<string, TokenCredential>();

/** How the shared credential is made: the environment DefaultAzureCredential reads, and how it is loaded. */
export interface IdentityEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  loadDefaultCredential: (clientId: string | undefined) => Promise<TokenCredential>;
}

const PROCESS_ENVIRONMENT: IdentityEnvironment = {
  // The platform's variables, read as DefaultAzureCredential itself reads them (they are not app settings).
  env: process.env,
  loadDefaultCredential: async (clientId) => {
    const { DefaultAzureCredential } = await import('@azure/identity');
    return clientId === undefined
      ? new DefaultAzureCredential()
      : new DefaultAzureCredential({ managedIdentityClientId: clientId });
  },
};

/**
 * The credential of `clientId` (undefined: DefaultAzureCredential's own choice) in `environment`: the App Service
 * endpoint while it answers, where DefaultAzureCredential would use it; DefaultAzureCredential otherwise, and from
 * the first request the endpoint does not answer with a token on.
 */
export function createSharedCredential(
  clientId: string | undefined,
  environment: IdentityEnvironment,
): TokenCredential {
  const identity = appServiceIdentity(environment.env, clientId);
  let direct: AppServiceTokens | undefined = identity === undefined ? undefined : appServiceTokens(identity);
  const fallback: LazyAsync<TokenCredential> = lazyAsync(() => environment.loadDefaultCredential(clientId));
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      if (direct !== undefined) {
        const token = await direct(scopes, options);
        if (token !== undefined) return token;
        // Its retries, errors and other sources are DefaultAzureCredential's: it answers from now on.
        direct = undefined;
      }
      return (await fallback.get()).getToken(scopes, options);
    },
  };
}

/**
 * DefaultAzureCredential with `managedIdentityClientId: clientId` (a user-assigned managed identity when given;
 * AZURE_CLIENT_ID), created on its first token request. A call without scopes asks for `defaultScope`.
 */
export function defaultAzureCredential(clientId: string | undefined, defaultScope?: string): TokenCredential {
  const key = clientId ?? '';
  let shared = credentials.get(key);
  if (shared === undefined) {
    shared = createSharedCredential(key === '' ? undefined : key, PROCESS_ENVIRONMENT);
    credentials.set(key, shared);
  }
  const credential = shared;
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const wanted = defaultScope !== undefined && scopes.length === 0 ? defaultScope : scopes;
      return credential.getToken(wanted, options);
    },
  };
}
