/**
 * The managed-identity token without @azure/identity: in an App Service/Functions environment the token comes from
 * the platform's identity endpoint (here a local one over a real socket, speaking the 2019-08-01 protocol), cached
 * as MSAL caches it; anywhere DefaultAzureCredential would do something else, or when the endpoint fails, the
 * DefaultAzureCredential stand-in answers instead.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { appServiceIdentity } from '../../shared/adapters/app-service-identity';
import { createSharedCredential } from '../../shared/adapters/identity';

const HEADER = 'identity-header-secret';
const SCOPE = 'https://management.azure.com/.default';

interface Seen {
  url: URL;
  header: string | undefined;
}

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
/** What the endpoint answers next: status and body. */
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: new URL(req.url ?? '/', 'http://localhost'), header: req.headers['x-identity-header'] as string });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
  answer = {
    status: 200,
    body: { access_token: 'mi-token', expires_on: String(Math.floor(Date.now() / 1000) + 3600), token_type: 'Bearer' },
  };
});

/** A DefaultAzureCredential stand-in that counts how often it was loaded and asked. */
function fallbackCredential() {
  const counts = { loaded: 0, asked: 0 };
  const credential: TokenCredential = {
    getToken: () => {
      counts.asked++;
      return Promise.resolve({ token: 'dac-token', expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
  return {
    counts,
    load: (): Promise<TokenCredential> => {
      counts.loaded++;
      return Promise.resolve(credential);
    },
  };
}

function appServiceEnv(extra: Record<string, string> = {}) {
  return { IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: HEADER, ...extra };
}

describe('the App Service managed identity without @azure/identity', () => {
  it('asks the identity endpoint as MSAL does, and never loads DefaultAzureCredential', async () => {
    const fallback = fallbackCredential();
    const credential = createSharedCredential('user-assigned-id', {
      env: appServiceEnv(),
      loadDefaultCredential: fallback.load,
    });
    const token = (await credential.getToken(SCOPE)) as AccessToken;
    expect(token.token).toBe('mi-token');
    expect(token.tokenType).toBe('Bearer');
    expect(fallback.counts.loaded).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.header).toBe(HEADER);
    expect(Object.fromEntries(seen[0]!.url.searchParams)).toEqual({
      'api-version': '2019-08-01',
      resource: 'https://management.azure.com',
      client_id: 'user-assigned-id',
    });
  });

  it('takes the user-assigned identity from AZURE_CLIENT_ID when none is configured, as DefaultAzureCredential does', async () => {
    const credential = createSharedCredential(undefined, {
      env: appServiceEnv({ AZURE_CLIENT_ID: 'from-env' }),
      loadDefaultCredential: fallbackCredential().load,
    });
    await credential.getToken(SCOPE);
    expect(seen[0]!.url.searchParams.get('client_id')).toBe('from-env');
  });

  it('reuses a token until 5 minutes before it expires, then asks again', async () => {
    let now = Date.now();
    const identity = appServiceIdentity(appServiceEnv(), undefined)!;
    const { appServiceTokens } = await import('../../shared/adapters/app-service-identity');
    const tokens = appServiceTokens(identity, () => now);
    await tokens(SCOPE);
    await tokens([SCOPE]);
    expect(seen).toHaveLength(1);
    now += 56 * 60 * 1000; // 4 minutes before expiry
    await tokens(SCOPE);
    expect(seen).toHaveLength(2);
  });

  it('renews a long-lived token at half its lifetime (MSAL refresh_in)', async () => {
    answer.body = { access_token: 't', expires_on: Math.floor(Date.now() / 1000) + 24 * 3600 };
    const credential = createSharedCredential(undefined, {
      env: appServiceEnv(),
      loadDefaultCredential: fallbackCredential().load,
    });
    const token = (await credential.getToken(SCOPE)) as AccessToken;
    expect(token.refreshAfterTimestamp! - Date.now()).toBeGreaterThan(11.9 * 3600 * 1000);
    expect(token.refreshAfterTimestamp! - Date.now()).toBeLessThan(12.1 * 3600 * 1000);
  });

  it.each([
    ['an error status', { status: 500, body: { error: 'x' } }],
    ['no token', { status: 200, body: { expires_on: '1' } }],
    ['an expiry it cannot read', { status: 200, body: { access_token: 't', expires_on: 'tomorrow' } }],
  ])('leaves it to DefaultAzureCredential from the first answer with %s on', async (_name, failing) => {
    answer = failing;
    const fallback = fallbackCredential();
    const credential = createSharedCredential(undefined, {
      env: appServiceEnv(),
      loadDefaultCredential: fallback.load,
    });
    expect(((await credential.getToken(SCOPE)) as AccessToken).token).toBe('dac-token');
    expect(((await credential.getToken(SCOPE)) as AccessToken).token).toBe('dac-token');
    expect(seen).toHaveLength(1);
    expect(fallback.counts).toEqual({ loaded: 1, asked: 2 });
  });

  it('leaves it to DefaultAzureCredential when the endpoint is unreachable', async () => {
    const fallback = fallbackCredential();
    const credential = createSharedCredential(undefined, {
      env: { IDENTITY_ENDPOINT: 'http://127.0.0.1:1/msi/token', IDENTITY_HEADER: HEADER },
      loadDefaultCredential: fallback.load,
    });
    expect(((await credential.getToken(SCOPE)) as AccessToken).token).toBe('dac-token');
  });

  it.each([
    ['no identity endpoint', {}],
    ['a client secret (EnvironmentCredential comes first)', appServiceEnv({ AZURE_CLIENT_SECRET: 's' })],
    ['a certificate (EnvironmentCredential)', appServiceEnv({ AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' })],
    ['a user name (EnvironmentCredential)', appServiceEnv({ AZURE_USERNAME: 'u' })],
    ['workload identity', appServiceEnv({ AZURE_FEDERATED_TOKEN_FILE: '/t' })],
    ['AZURE_TOKEN_CREDENTIALS', appServiceEnv({ AZURE_TOKEN_CREDENTIALS: 'dev' })],
    ['Service Fabric (a server thumbprint)', appServiceEnv({ IDENTITY_SERVER_THUMBPRINT: 'ab' })],
  ])('uses DefaultAzureCredential itself with %s', async (_name, env) => {
    const fallback = fallbackCredential();
    const credential = createSharedCredential(undefined, { env, loadDefaultCredential: fallback.load });
    expect(((await credential.getToken(SCOPE)) as AccessToken).token).toBe('dac-token');
    expect(seen).toHaveLength(0);
  });

  it('leaves claims challenges and several scopes to DefaultAzureCredential', async () => {
    const fallback = fallbackCredential();
    const credential = createSharedCredential(undefined, {
      env: appServiceEnv(),
      loadDefaultCredential: fallback.load,
    });
    expect(((await credential.getToken(SCOPE, { claims: '{"x":1}' })) as AccessToken).token).toBe('dac-token');
    expect(((await credential.getToken([SCOPE, 'https://storage.azure.com/.default'])) as AccessToken).token).toBe(
      'dac-token',
    );
    expect(seen).toHaveLength(0);
  });
});
