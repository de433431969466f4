/**
 * The ARM emulator judges what issue 9 says the service does: relative pool member ids, managed identity, absolute
 * URLs, and properties the request's api-version does not know dropped silently (as ARM does), at every version.
 */
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import { SUPPORTED_API_VERSIONS, isAtLeast } from '../../shared/domain/contract/api-versions';
import { clientFor } from '../support/arm';

const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const target = (backendId: string, workspaceId?: string) => ({
  subscriptionId: SUB,
  resourceGroupName: 'rg1',
  serviceName: 'apimService1',
  backendId,
  ...(workspaceId === undefined ? {} : { workspaceId }),
});

let emulator: ArmEmulator;
let arm: ArmBackendClient;
beforeAll(async () => {
  emulator = await startArmEmulator();
  arm = clientFor(emulator);
});
afterAll(() => emulator.stop());
beforeEach(() => {
  emulator.reset();
  emulator.putBackend(`${SERVICE}/backends/b1`, { url: 'https://b1.example/', protocol: 'http' });
  emulator.putBackend(`${SERVICE}/workspaces/w1/backends/b1`, { url: 'https://w1.example/', protocol: 'http' });
});

describe.each(SUPPORTED_API_VERSIONS.map((v) => [v]))('api-version %s', (apiVersion) => {
  test('a pool member /backends/x resolves against the pool’s service or workspace', async () => {
    const body = { properties: { type: 'Pool', pool: { services: [{ id: '/backends/b1' }] } } };
    expect(await arm.createOrUpdate(target('p1'), body, { apiVersion })).toMatchObject({ kind: 'ok', status: 201 });
    expect(await arm.createOrUpdate(target('p1', 'w1'), body, { apiVersion })).toMatchObject({ kind: 'ok' });
    const missing = { properties: { type: 'Pool', pool: { services: [{ id: '/backends/nope' }] } } };
    expect(await arm.createOrUpdate(target('p2'), missing, { apiVersion })).toMatchObject({
      kind: 'armError',
      status: 400,
    });
  });

  test('managed identity is accepted; a bare ARM id as resourceId is refused as ARM does', async () => {
    const identity = {
      url: 'https://ai.example/',
      protocol: 'http',
      credentials: { managedIdentity: { resource: 'r' } },
    };
    expect(await arm.createOrUpdate(target('ai'), { properties: identity }, { apiVersion })).toMatchObject({
      kind: 'ok',
    });
    const bare = { ...identity, resourceId: `${SERVICE}/backends/b1` };
    const refused = await arm.createOrUpdate(target('ai2'), { properties: bare }, { apiVersion });
    expect(refused.kind === 'armError' && refused.error.details?.[0]?.message).toBe(
      'Value should represent absolute http URL',
    );
  });

  test('session affinity is kept only from 2024-10-01-preview on; older versions drop it silently', async () => {
    const affinity = { sessionId: { source: 'cookie', name: 'sid' } };
    const body = {
      properties: { type: 'Pool', pool: { services: [{ id: '/backends/b1' }], sessionAffinity: affinity } },
    };
    const put = await arm.createOrUpdate(target('p3'), body, { apiVersion });
    expect(put.kind).toBe('ok');
    const stored = emulator.getBackend(`${SERVICE}/backends/p3`)?.properties['pool'] as Record<string, unknown>;
    expect(stored['sessionAffinity']).toEqual(isAtLeast(apiVersion, '2024-10-01-preview') ? affinity : undefined);
  });
});
