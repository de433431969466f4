/**
 * Issue 9 through the HTTP function against the ARM emulator: dry runs of each kind of definition answer 200 with a
 * plan or 400 naming the field, and write nothing; a real change is sent with the request's api-version, which the
 * outcome and its event show.
 */
import { HttpRequest } from '@azure/functions';
import { backendChangesHandler } from '../../functions/backend-changes';
import { SERVICE_ID, startStack, SUB, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { ledger: false });
});
afterAll(() => stack.stop());
beforeEach(() => {
  stack.emulator.reset();
  stack.emulator.putBackend(`${SERVICE_ID}/backends/openai1`, { url: 'https://openai1.example/', protocol: 'http' });
  stack.emulator.putBackend(`${SERVICE_ID}/backends/openai2`, { url: 'https://openai2.example/', protocol: 'http' });
});

const target = (backendId: string) => ({
  subscriptionId: SUB,
  resourceGroupName: 'rg1',
  serviceName: 'apimService1',
  backendId,
});

async function send(request: Record<string, unknown>) {
  const http = backendChangesHandler(() => stack.services);
  const res = await http(
    new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/backend-changes',
      headers: { 'content-type': 'application/json' },
      body: { string: JSON.stringify(request) },
    }),
    stack.context('backendChanges'),
  );
  return { status: res.status, body: res.jsonBody };
}

const writes = () => stack.emulator.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

const aiMember = {
  url: 'https://my-openai.openai.azure.com/openai',
  protocol: 'http',
  credentials: { managedIdentity: { resource: 'https://cognitiveservices.azure.com' } },
};
const aiPool = {
  type: 'pool',
  pool: {
    services: [
      { id: '/backends/openai1', priority: '1' },
      { id: '/backends/openai2', priority: 2 },
    ],
  },
};

describe.each([
  ['AI backend with managed identity', 'createOrUpdate', undefined, aiMember],
  ['pool of relative members, lower-case type', 'createOrUpdate', undefined, aiPool],
  [
    'pool with session affinity at 2024-10-01-preview',
    'createOrUpdate',
    '2024-10-01-preview',
    { ...aiPool, pool: { ...aiPool.pool, sessionAffinity: { sessionId: { source: 'Cookie', name: 'sid' } } } },
  ],
  [
    'carbon-aware member at 2025-03-01-preview',
    'createOrUpdate',
    '2025-03-01-preview',
    {
      type: 'Pool',
      pool: { services: [{ id: '/backends/openai1', preferredCarbonEmission: 'low' }] },
    },
  ],
  ['update of a region at 2026-09-01-preview', 'update', '2026-09-01-preview', { azureRegion: 'northeurope' }],
])('dry run: %s', (_name, operation, apiVersion, properties) => {
  test('answers 200 with a plan and writes nothing', async () => {
    if (operation === 'update') {
      stack.emulator.putBackend(`${SERVICE_ID}/backends/ai`, { url: 'https://x.example/', protocol: 'http' });
    }
    const { status, body } = await send({
      operation,
      target: target('ai'),
      ...(apiVersion === undefined ? {} : { apiVersion }),
      body: { properties },
      dryRun: true,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'succeeded', dryRun: true, apiVersion: apiVersion ?? '2024-05-01' });
    expect(body.plan.changes.length).toBeGreaterThan(0);
    expect(writes()).toHaveLength(0);
    expect(stack.emulator.requests.every((r) => r.apiVersion === (apiVersion ?? '2024-05-01'))).toBe(true);
  });
});

describe.each([
  [
    'session affinity at the default version',
    { ...aiPool, pool: { ...aiPool.pool, sessionAffinity: {} } },
    undefined,
    'body.properties.pool.sessionAffinity',
    /needs api-version 2024-10-01-preview or later; set apiVersion/,
  ],
  ['an unknown api-version', aiMember, '2023-05-01-preview', 'apiVersion', /2026-09-01-preview/],
  [
    'a trailing / in a member id',
    { type: 'Pool', pool: { services: [{ id: '/backends/openai1/' }] } },
    undefined,
    'body.properties.pool.services[0].id',
    /\/backends\/\{backendId\}/,
  ],
  [
    'a bare ARM id as resourceId',
    { ...aiMember, resourceId: `${SERVICE_ID}/backends/x` },
    undefined,
    'body.properties.resourceId',
    /absolute http/,
  ],
  [
    'a template placeholder as url',
    { ...aiMember, url: '[url]]/workflows/x' },
    undefined,
    'body.properties.url',
    /absolute URI/,
  ],
  [
    'a managed identity without resource',
    { ...aiMember, credentials: { managedIdentity: { clientId: 'c' } } },
    undefined,
    'body.properties.credentials.managedIdentity.resource',
    /required/,
  ],
])('dry run: %s', (_name, properties, apiVersion, field, message) => {
  test('answers 400 naming the field and sends nothing to ARM', async () => {
    const { status, body } = await send({
      operation: 'createOrUpdate',
      target: target('ai'),
      ...(apiVersion === undefined ? {} : { apiVersion }),
      body: { properties },
      dryRun: true,
    });
    expect(status).toBe(400);
    expect(body.status).toBe('rejected');
    expect(body.error.details).toEqual([
      expect.objectContaining({ target: field, message: expect.stringMatching(message) }),
    ]);
    expect(stack.emulator.requests).toHaveLength(0);
  });
});

test('a GET answer sent back as a PUT is no change: the relative member id answers in either form', async () => {
  const first = await send({
    requestId: 'pool-a',
    operation: 'createOrUpdate',
    target: target('pool1'),
    body: { properties: aiPool },
  });
  expect(first.status).toBe(201);
  // The service may answer a member id in the full form: the same backend is no change.
  stack.emulator.putBackend(`${SERVICE_ID}/backends/pool1`, {
    type: 'Pool',
    pool: {
      services: [
        { id: `${SERVICE_ID}/backends/openai1`, priority: 1 },
        { id: `${SERVICE_ID}/backends/OPENAI2`, priority: 2 },
      ],
    },
  });
  const get = await stack.services.arm.get(target('pool1'));
  if (get.kind !== 'ok') throw new Error('GET failed');
  const again = await send({
    requestId: 'pool-b',
    operation: 'createOrUpdate',
    target: target('pool1'),
    body: { ...(get.body as object) },
  });
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ status: 'succeeded', unchanged: true });
  const relative = await send({
    requestId: 'pool-c',
    operation: 'createOrUpdate',
    target: target('pool1'),
    body: { properties: aiPool },
  });
  expect(relative.body).toMatchObject({ status: 'succeeded', unchanged: true });
});

test('a change is sent with its api-version; an older GET does not show the newer field', async () => {
  const properties = {
    ...aiPool,
    pool: { ...aiPool.pool, sessionAffinity: { sessionId: { source: 'cookie', name: 'sid' } } },
  };
  const res = await send({
    requestId: 'aff-1',
    operation: 'createOrUpdate',
    target: target('pool2'),
    apiVersion: '2024-10-01-preview',
    body: { properties },
  });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    apiVersion: '2024-10-01-preview',
    backend: { properties: { pool: { sessionAffinity: { sessionId: { source: 'cookie' } } } } },
  });
  const put = stack.emulator.requests.find((r) => r.method === 'PUT');
  expect(put?.apiVersion).toBe('2024-10-01-preview');
  const event = stack.events().find((e) => e.data.requestId === 'aff-1');
  expect(event?.data.apiVersion).toBe('2024-10-01-preview');
  const old = await stack.services.arm.get(target('pool2'));
  expect(old.kind === 'ok' && (old.body as any).properties.pool.sessionAffinity).toBeUndefined();
  const current = await stack.services.arm.get(target('pool2'), { apiVersion: '2024-10-01-preview' });
  expect(current.kind === 'ok' && (current.body as any).properties.pool.sessionAffinity).toEqual({
    sessionId: { source: 'cookie', name: 'sid' },
  });
});
