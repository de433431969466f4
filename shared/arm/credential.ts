/**
 * The credential the ARM client authenticates with: a fixed token (the local emulator, or a token handed in through
 * ARM_ACCESS_TOKEN), or Azure Identity's DefaultAzureCredential (managed identity in Azure).
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

/** Where the credential's settings come from: ARM_ENDPOINT, ARM_ACCESS_TOKEN, AZURE_CLIENT_ID. */
export interface ArmCredentialSettings {
  endpoint: string;
  accessToken?: string | undefined;
  clientId?: string | undefined;
}

/** A static token is reported as valid this long from each request, so the bearer policy never tries to refresh it. */
const STATIC_TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;

/** The OAuth scope for an ARM endpoint: `https://management.azure.com/.default`. */
export function armTokenScope(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/.default`;
}

function staticTokenCredential(token: string): TokenCredential {
  return {
    getToken: (): Promise<AccessToken> =>
      Promise.resolve({ token, expiresOnTimestamp: Date.now() + STATIC_TOKEN_LIFETIME_MS, tokenType: 'Bearer' }),
  };
}

/**
 * DefaultAzureCredential, created on first use. @azure/identity is imported lazily: it is heavy, and the emulator
 * path (a static token) never needs it.
 */
/**
 * DefaultAzureCredential, loaded on first use (`@azure/identity` is heavy and unused on the token and emulator
 * paths). `defaultScope` is asked for when a caller passes no scopes.
 */
export function lazyDefaultCredential(defaultScope: string, clientId: string | undefined): TokenCredential {
  let inner: Promise<TokenCredential> | undefined;
  const load = async (): Promise<TokenCredential> => {
    const { DefaultAzureCredential } = await import('@azure/identity');
    return clientId === undefined || clientId === ''
      ? new DefaultAzureCredential()
      : new DefaultAzureCredential({ managedIdentityClientId: clientId });
  };
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      inner ??= load().catch((error: unknown) => {
        inner = undefined; // let a later call try again rather than cache the failure
        throw error;
      });
      const credential = await inner;
      const wanted = typeof scopes === 'string' ? scopes : scopes.length > 0 ? scopes : defaultScope;
      return credential.getToken(wanted, options);
    },
  };
}

/**
 * The credential for ARM calls. With `accessToken` set, that token is used as-is (it is never logged); otherwise
 * DefaultAzureCredential with `managedIdentityClientId: clientId` (a user-assigned managed identity when given).
 * A call without scopes asks for `<endpoint>/.default`.
 */
export function createArmCredential(settings: ArmCredentialSettings): TokenCredential {
  if (settings.accessToken !== undefined && settings.accessToken !== '') {
    return staticTokenCredential(settings.accessToken);
  }
  return lazyDefaultCredential(armTokenScope(settings.endpoint), settings.clientId);
}
