/**
 * The credential the ARM client authenticates with: a fixed token (the local emulator, or a token handed in through
 * ARM_ACCESS_TOKEN), or Azure Identity's DefaultAzureCredential (managed identity in Azure).
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { defaultAzureCredential } from '../identity';

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
 * The credential for ARM calls. With `accessToken` set, that token is used as-is (it is never logged); otherwise
 * DefaultAzureCredential with `managedIdentityClientId: clientId` (a user-assigned managed identity when given).
 * A call without scopes asks for `<endpoint>/.default`.
 */
export function createArmCredential(settings: ArmCredentialSettings): TokenCredential {
  if (settings.accessToken !== undefined && settings.accessToken !== '') {
    return staticTokenCredential(settings.accessToken);
  }
  return defaultAzureCredential(
    settings.clientId === '' ? undefined : settings.clientId,
    armTokenScope(settings.endpoint),
  );
}
