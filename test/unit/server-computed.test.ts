/**
 * Fields real ARM adds to what was written (recorded in ../shared/reference/recordings) are no change: a plan and
 * SKIP_UNCHANGED must not see one, and the write-intent state hash must not either.
 */
import { planChanges } from '../../shared/domain/plan';
import { expectedStateHash, stateHash } from '../../shared/app/write-intent';

const ID =
  '/subscriptions/dbdbebc3-1f15-4e74-9ef2-7db25483cb15/resourceGroups/rg/providers/Microsoft.ApiManagement/service/s/backends/sf';
const CERT =
  '/subscriptions/dbdbebc3-1f15-4e74-9ef2-7db25483cb15/resourceGroups/rg/providers/Microsoft.ApiManagement/service/s/certificates/c1';

/** What was PUT (net-track1 ServiceFabricCreateUpdateDelete, 2022-08-01). */
const request = {
  properties: {
    description: 'patchedDescription8065',
    url: 'fabric:/mytestapp/mytestservice',
    protocol: 'http',
    properties: {
      serviceFabricCluster: {
        managementEndpoints: ['https://backendname7977/'],
        clientCertificateId: CERT,
        serverX509Names: [
          { name: 'serverCommonName1', issuerCertificateThumbprint: '8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2' },
        ],
        maxPartitionResolutionRetries: 5,
      },
    },
  },
};

/** What ARM answered: `title: null` and a server-computed `clientCertificateThumbprint` added. */
const response = {
  id: ID,
  type: 'Microsoft.ApiManagement/service/backends',
  name: 'sf',
  properties: {
    title: null,
    ...request.properties,
    properties: {
      serviceFabricCluster: {
        ...request.properties.properties.serviceFabricCluster,
        clientCertificateThumbprint: '8E989652CABCF585ACBFCB9C2C91F1D174FDB3A2',
      },
    },
  },
};

describe('server-computed fields', () => {
  it('a PUT of what ARM already holds plans no change (SKIP_UNCHANGED skips it)', () => {
    expect(planChanges('createOrUpdate', response, request)).toEqual([]);
  });

  it('a PATCH of what ARM already holds plans no change', () => {
    expect(planChanges('update', response, { properties: { description: 'patchedDescription8065' } })).toEqual([]);
  });

  it('the state a PUT leads to hashes the same as ARM answers it', () => {
    expect(stateHash(response)).toBe(
      expectedStateHash({ operation: 'createOrUpdate', target: ID, body: request } as never, null),
    );
  });

  it('a real difference is still a change', () => {
    const changed = { properties: { ...request.properties, description: 'other' } };
    expect(planChanges('createOrUpdate', response, changed)).toEqual([
      { path: 'properties.description', from: 'patchedDescription8065', to: 'other' },
    ]);
  });
  it('plans the removal of a nested object of 150,000 keys without throwing (no push of a spread array)', () => {
    const header = Object.fromEntries(Array.from({ length: 150_000 }, (_, i) => [`h${i}`, ['v']]));
    const current = { properties: { url: 'https://a.example', protocol: 'http', credentials: { header } } };
    const desired = { properties: { url: 'https://a.example', protocol: 'http', credentials: { header: {} } } };
    const changes = planChanges('createOrUpdate', current, desired);
    expect(changes).toHaveLength(150_000);
    expect(changes[0]).toEqual({ path: 'properties.credentials.header.h0', from: expect.anything() });
  });
});
