/**
 * The managed-identity token of an App Service or Azure Functions app, fetched without `@azure/identity`, whose
 * chunk costs about 30 ms to require on a cold start. Used only where DefaultAzureCredential would itself end up at
 * that endpoint (App Service's protocol, api-version 2019-08-01: `GET IDENTITY_ENDPOINT?resource=…` with the
 * `X-IDENTITY-HEADER` secret), and only while the endpoint answers a usable token: every other environment, request
 * or answer is left to DefaultAzureCredential, so its behaviour (other credentials, retries, errors) is unchanged.
 *
 * What DefaultAzureCredential would do in such an environment: EnvironmentCredential and WorkloadIdentityCredential
 * are unavailable (none of their variables is set), and ManagedIdentityCredential (MSAL) picks App Service as the
 * source (IDENTITY_ENDPOINT and IDENTITY_HEADER, not Service Fabric's thumbprint) with AZURE_CLIENT_ID, or the
 * configured client id, as the user-assigned identity. Tokens are cached per resource as MSAL caches them: reused
 * until 5 minutes before expiry, or until half their lifetime for tokens that live over 2 hours.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AbortSignalLike } from '@azure/abort-controller';
import type { AccessToken, GetTokenOptions } from '@azure/core-auth';

/** The App Service identity endpoint of this process, and the user-assigned identity to ask for. */
export interface AppServiceIdentity {
  endpoint: URL;
  header: string;
  clientId: string | undefined;
}

/**
 * Variables with which DefaultAzureCredential would try another credential first (or only), or MSAL another
 * managed-identity source: with any of them set, DefaultAzureCredential itself is used.
 */
const OTHER_CREDENTIAL_VARIABLES = [
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'AZURE_USERNAME',
  'AZURE_FEDERATED_TOKEN_FILE',
  'IDENTITY_SERVER_THUMBPRINT',
] as const;

/**
 * The App Service identity of an environment where DefaultAzureCredential would use it, or undefined. `clientId`
 * is the configured user-assigned identity; without one, AZURE_CLIENT_ID, as DefaultAzureCredential reads it.
 */
export function appServiceIdentity(
  env: Readonly<Record<string, string | undefined>>,
  clientId: string | undefined,
): AppServiceIdentity | undefined {
  const endpoint = env['IDENTITY_ENDPOINT'];
  const header = env['IDENTITY_HEADER'];
  if (endpoint === undefined || endpoint === '' || header === undefined || header === '') return undefined;
  if (OTHER_CREDENTIAL_VARIABLES.some((name) => (env[name] ?? '') !== '')) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const id = clientId ?? env['AZURE_CLIENT_ID'];
  return { endpoint: url, header, clientId: id === undefined || id === '' ? undefined : id };
}

/** The resource of one scope (`https://management.azure.com/.default` → `https://management.azure.com`), as MSAL maps it. */
function resourceOf(scopes: string | string[]): string | undefined {
  const scope = typeof scopes === 'string' ? scopes : scopes.length === 1 ? scopes[0] : undefined;
  if (scope === undefined) return undefined;
  return scope.endsWith('/.default') ? scope.slice(0, scope.lastIndexOf('/.default')) : scope;
}

/** MSAL renews a cached token this long before it expires. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;
/** Tokens living longer than this are renewed at half their lifetime (MSAL's refresh_in). */
const LONG_LIVED_MS = 2 * 60 * 60 * 1000;
/** The endpoint is local to the host: an answer takes milliseconds. Past this, DefaultAzureCredential takes over. */
const REQUEST_TIMEOUT_MS = 5_000;
/** An answer larger than this is not a token answer. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Gets tokens from the App Service identity endpoint; `undefined` means "ask DefaultAzureCredential instead". */
export type AppServiceTokens = (
  scopes: string | string[],
  options?: GetTokenOptions,
) => Promise<AccessToken | undefined>;

/** The token source for `identity`, with its own cache per resource. */
export function appServiceTokens(identity: AppServiceIdentity, now: () => number = Date.now): AppServiceTokens {
  const cache = new Map<string, AccessToken>();
  return async (scopes, options) => {
    const resource = resourceOf(scopes);
    // A claims challenge (CAE) or a tenant is beyond this endpoint's protocol: DefaultAzureCredential decides.
    if (resource === undefined || options?.claims !== undefined || options?.tenantId !== undefined) return undefined;
    const cached = cache.get(resource);
    const at = now();
    if (
      cached !== undefined &&
      at < cached.expiresOnTimestamp - RENEW_BEFORE_MS &&
      (cached.refreshAfterTimestamp === undefined || at < cached.refreshAfterTimestamp)
    ) {
      return cached;
    }
    const token = await fetchToken(identity, resource, options?.abortSignal, now);
    if (token !== undefined) cache.set(resource, token);
    return token;
  };
}

/** One token request; undefined on any failure (DefaultAzureCredential then retries and reports it). */
async function fetchToken(
  identity: AppServiceIdentity,
  resource: string,
  signal: AbortSignalLike | undefined,
  now: () => number,
): Promise<AccessToken | undefined> {
  const url = new URL(identity.endpoint);
  url.searchParams.set('api-version', '2019-08-01');
  url.searchParams.set('resource', resource);
  if (identity.clientId !== undefined) url.searchParams.set('client_id', identity.clientId);
  const body = await get(url, identity.header, signal).catch(() => undefined);
  if (body === undefined) return undefined;
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { access_token: token, expires_on: expiresOn } = answer as Record<string, unknown>;
  const expiresSeconds = typeof expiresOn === 'number' ? expiresOn : Number(expiresOn);
  if (typeof token !== 'string' || token === '' || !Number.isFinite(expiresSeconds)) return undefined;
  const expiresOnTimestamp = expiresSeconds * 1000;
  const lifetime = expiresOnTimestamp - now();
  if (lifetime <= RENEW_BEFORE_MS) return undefined;
  const result: AccessToken = { token, expiresOnTimestamp, tokenType: 'Bearer' };
  if (lifetime > LONG_LIVED_MS) result.refreshAfterTimestamp = now() + lifetime / 2;
  return result;
}

/** GET `url` with the identity header: the body of a 200 answer; rejects otherwise, or after REQUEST_TIMEOUT_MS. */
function get(url: URL, header: string, signal: AbortSignalLike | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new Error('aborted'));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'GET', headers: { 'X-IDENTITY-HEADER': header }, timeout: REQUEST_TIMEOUT_MS });
    const onAbort = (): void => void request.destroy(new Error('aborted'));
    signal?.addEventListener('abort', onAbort);
    request.on('close', () => signal?.removeEventListener('abort', onAbort));
    request.on('timeout', () => request.destroy(new Error('identity endpoint timed out')));
    request.on('error', reject);
    request.on('response', (response: IncomingMessage) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`identity endpoint answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) request.destroy(new Error('identity endpoint answer too large'));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.end();
  });
}
