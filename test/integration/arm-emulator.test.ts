import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';

const EXAMPLES = join(__dirname, '..', 'fixtures', 'examples');
const SUB = '00000000-0000-0000-0000-000000000000';
const SERVICE = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;
const WORKSPACE = `${SERVICE}/workspaces/wks1`;
const V = 'api-version=2024-05-01';

interface Contract {
  id: string;
  type: string;
  name: string;
  properties: Record<string, unknown>;
}
interface Page {
  value: Contract[];
  count: number;
  nextLink: string;
}
interface ArmErrorJson {
  error: { code: string; message: string; details?: Array<{ code: string; target?: string; message: string }> };
}

interface Example {
  parameters: Record<string, unknown> & { backendId?: string; workspaceId?: string; 'If-Match'?: string };
  responses: Record<string, { body?: Contract & Page; headers?: Record<string, string> }>;
}

function example(name: string): Example {
  return JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')) as Example;
}

/** The request path an example describes (its scope, and its backend when it names one). */
function examplePath(ex: Example, suffix = ''): string {
  const scope =
    ex.parameters.workspaceId === undefined ? SERVICE : `${SERVICE}/workspaces/${ex.parameters.workspaceId}`;
  const backend = ex.parameters.backendId === undefined ? '' : `/${ex.parameters.backendId}`;
  return `${scope}/backends${backend}${suffix}?${V}`;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

const asError = (reply: Reply): ArmErrorJson['error'] => (reply.json as ArmErrorJson).error;

/**
 * A reply as the documentation's examples show it: real ARM (see the recordings) also answers `"title": null` and a
 * Service Fabric backend's server-computed `clientCertificateThumbprint`, which the examples leave out.
 */
function asDocumented(json: unknown): unknown {
  const strip = (contract: Contract): Contract => {
    const { title, ...properties } = contract.properties;
    // The pool examples do show `title: null`.
    const pool = contract.properties['type'] === 'Pool';
    const out = { ...contract, properties: title === null && !pool ? properties : contract.properties };
    const fabric = (out.properties['properties'] as any)?.serviceFabricCluster;
    if (fabric !== undefined) {
      const { clientCertificateThumbprint: _computed, ...cluster } = fabric;
      out.properties = { ...out.properties, properties: { serviceFabricCluster: cluster } };
    }
    return out;
  };
  const page = json as Page;
  if (Array.isArray(page.value)) return { ...page, value: page.value.map(strip) };
  return strip(json as Contract);
}
const asContract = (reply: Reply): Contract => reply.json as Contract;
const asPage = (reply: Reply): Page => reply.json as Page;

interface CallOptions {
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  token?: string | null;
  agent?: Agent;
}

function call(emu: ArmEmulator, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? emu.token : options.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  const payload = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(
      path.startsWith('https://') ? path : `${emu.url}${path}`,
      { method, ca: emu.caCertPem, headers, agent: options.agent ?? false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const single = (url = 'https://backend.example.com/') => ({ url, protocol: 'http' });

describe('ARM emulator', () => {
  let emu: ArmEmulator;

  beforeAll(async () => {
    emu = await startArmEmulator();
  });
  afterAll(async () => {
    await emu.stop();
  });
  beforeEach(() => emu.reset());

  describe('official examples replayed', () => {
    const creates = [
      'ApiManagementCreateBackendServiceFabric',
      'ApiManagementCreateWorkspaceBackendServiceFabric',
      'ApiManagementCreateBackendWithSimpleLoadBalancer',
      'ApiManagementCreateBackendWithPriorityBasedLoadBalancer',
      'ApiManagementCreateBackendWithWeightedLoadBalancer',
    ];

    test.each(creates)('PUT %s answers 201 then 200 with the example bodies and a new ETag', async (name) => {
      const ex = example(name);
      const request = ex.parameters['parameters'] as { properties: { pool?: { services: Array<{ id: string }> } } };
      // Pool members must exist first, as in the service.
      for (const member of request.properties.pool?.services ?? []) emu.putBackend(member.id, single());

      const created = await call(emu, 'PUT', examplePath(ex), { body: request });
      expect(created.status).toBe(201);
      expect(asDocumented(created.json)).toEqual(ex.responses['201']!.body);
      expect(created.headers['etag']).toMatch(/^"[A-Za-z0-9+/]+=*"$/);

      const updated = await call(emu, 'PUT', examplePath(ex), { body: request });
      expect(updated.status).toBe(200);
      expect(asDocumented(updated.json)).toEqual(ex.responses['200']!.body);
      expect(updated.headers['etag']).not.toBe(created.headers['etag']);
    });

    test.each(['ApiManagementCreateBackendProxyBackend', 'ApiManagementCreateWorkspaceBackendProxyBackend'])(
      'PUT %s echoes what was sent (tls as requested, not the example response tls)',
      async (name) => {
        const ex = example(name);
        const request = ex.parameters['parameters'] as { properties: { tls: unknown } };
        const created = await call(emu, 'PUT', examplePath(ex), { body: request });
        expect(created.status).toBe(201);
        const expected = ex.responses['201']!.body!;
        // The example answers tls false/false to a request of true/true; the emulator does not invent that change.
        expect(asDocumented(created.json)).toEqual({
          ...expected,
          properties: { ...expected.properties, tls: request.properties.tls },
        });
        const updated = await call(emu, 'PUT', examplePath(ex), { body: request });
        expect(updated.status).toBe(200);
      },
    );

    test.each(['ApiManagementGetBackend', 'ApiManagementGetWorkspaceBackend'])('GET %s', async (name) => {
      const ex = example(name);
      const body = ex.responses['200']!.body!;
      emu.putBackend(body.id, body.properties);
      const reply = await call(emu, 'GET', examplePath(ex));
      expect(reply.status).toBe(200);
      expect(asDocumented(reply.json)).toEqual(body);
      expect(reply.headers['etag']).toBe(emu.getBackend(body.id)!.etag);
    });

    test.each([
      ['ApiManagementHeadBackend', SERVICE],
      ['ApiManagementHeadWorkspaceBackend', WORKSPACE],
    ])('HEAD %s answers 200 with only the etag', async (name, scope) => {
      const ex = example(name);
      emu.putBackend(`${scope}/backends/${ex.parameters.backendId}`, single());
      const reply = await call(emu, 'HEAD', examplePath(ex));
      expect(reply.status).toBe(200);
      expect(ex.responses['200']!.headers).toHaveProperty('etag');
      expect(reply.headers['etag']).toBe(emu.getBackend(`${scope}/backends/${ex.parameters.backendId}`)!.etag);
      expect(reply.text).toBe('');
      expect(reply.headers['content-type']).toBeUndefined();

      const missing = await call(emu, 'HEAD', `${scope}/backends/nope?${V}`);
      expect(missing.status).toBe(404);
      expect(missing.text).toBe('');
    });

    test.each([
      ['ApiManagementUpdateBackend', 'ApiManagementCreateBackendProxyBackend'],
      ['ApiManagementUpdateWorkspaceBackend', 'ApiManagementCreateWorkspaceBackendProxyBackend'],
    ])('PATCH %s merges into the stored backend and answers the whole of it', async (name, createName) => {
      const ex = example(name);
      const created = example(createName).responses['201']!.body!;
      emu.putBackend(created.id, created.properties);
      const before = emu.getBackend(created.id)!.etag;
      const reply = await call(emu, 'PATCH', examplePath(ex), {
        body: ex.parameters['parameters'],
        headers: { 'If-Match': ex.parameters['If-Match']! },
      });
      expect(reply.status).toBe(200);
      expect(asDocumented(reply.json)).toEqual(ex.responses['200']!.body);
      expect(reply.headers['etag']).not.toBe(before);
      expect(reply.headers['etag']).toBe(emu.getBackend(created.id)!.etag);
    });

    test.each([
      ['ApiManagementListBackends', SERVICE],
      ['ApiManagementListWorkspaceBackends', WORKSPACE],
    ])('GET %s lists the scope', async (name, scope) => {
      const ex = example(name);
      const page = ex.responses['200']!.body!;
      for (const item of page.value) emu.putBackend(item.id, item.properties);
      // A backend in the other scope must not show up.
      emu.putBackend(`${scope === SERVICE ? WORKSPACE : SERVICE}/backends/elsewhere`, single());
      const reply = await call(emu, 'GET', examplePath(ex));
      expect(reply.status).toBe(200);
      expect(asDocumented(reply.json)).toEqual(page);
    });

    test('POST reconnect with PT3S answers 202 with an empty body', async () => {
      const ex = example('ApiManagementBackendReconnect');
      emu.putBackend(`${SERVICE}/backends/proxybackend`, single());
      const reply = await call(emu, 'POST', examplePath(ex, '/reconnect'), { body: ex.parameters['parameters'] });
      expect(reply.status).toBe(202);
      expect(reply.text).toBe('');
      const noBody = await call(emu, 'POST', examplePath(ex, '/reconnect'));
      expect(noBody.status).toBe(202);
    });

    test.each([
      ['ApiManagementDeleteBackend', SERVICE],
      ['ApiManagementDeleteWorkspaceBackend', WORKSPACE],
    ])('DELETE %s answers 200 when it existed, then 204', async (name, scope) => {
      const ex = example(name);
      const id = `${scope}/backends/${ex.parameters.backendId}`;
      emu.putBackend(id, single());
      const headers = { 'If-Match': ex.parameters['If-Match']! };
      const first = await call(emu, 'DELETE', examplePath(ex), { headers });
      expect(first.status).toBe(200);
      expect(emu.getBackend(id)).toBeUndefined();
      const second = await call(emu, 'DELETE', examplePath(ex), { headers });
      expect(second.status).toBe(204);
      const get = await call(emu, 'GET', examplePath(ex));
      expect(get.status).toBe(404);
      expect(asError(get).code).toBe('ResourceNotFound');
    });
  });

  describe('paging', () => {
    test('pages of two with an absolute nextLink, empty on the last page', async () => {
      for (const name of ['c', 'a', 'e', 'b', 'd']) emu.putBackend(`${SERVICE}/backends/${name}`, single());
      const names: string[] = [];
      let link = `${SERVICE}/backends?${V}`;
      let pages = 0;
      for (;;) {
        const reply = await call(emu, 'GET', link);
        expect(reply.status).toBe(200);
        expect(asPage(reply).count).toBe(5);
        pages += 1;
        names.push(...asPage(reply).value.map((b: { name: string }) => b.name));
        if (asPage(reply).nextLink === '') break;
        expect(asPage(reply).nextLink.startsWith(`${emu.url}${SERVICE}/backends?`)).toBe(true);
        link = asPage(reply).nextLink;
      }
      expect(pages).toBe(3);
      expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    test('$top makes pages smaller', async () => {
      for (const name of ['a', 'b', 'c']) emu.putBackend(`${SERVICE}/backends/${name}`, single());
      const reply = await call(emu, 'GET', `${SERVICE}/backends?${V}&$top=1`);
      expect(asPage(reply).value).toHaveLength(1);
      expect(asPage(reply).nextLink).toContain('%24top=1');
    });
  });

  describe('ETags and If-Match', () => {
    const path = `${SERVICE}/backends/b1?${V}`;

    test('a stale If-Match is refused with 412 on PUT, PATCH and DELETE and nothing changes', async () => {
      const created = await call(emu, 'PUT', path, { body: { properties: single() } });
      const stale = created.headers['etag'] as string;
      const updated = await call(emu, 'PUT', path, { body: { properties: single('https://v2/') } });
      const current = updated.headers['etag'] as string;
      expect(current).not.toBe(stale);

      for (const [method, body] of [
        ['PUT', { properties: single('https://v3/') }],
        ['PATCH', { properties: { url: 'https://v3/' } }],
        ['DELETE', undefined],
      ] as const) {
        const reply = await call(emu, method, path, { body, headers: { 'If-Match': stale } });
        expect(reply.status).toBe(412);
        expect(asError(reply).code).toBe('PreconditionFailed');
      }
      expect(emu.getBackend(`${SERVICE}/backends/b1`)!.properties['url']).toBe('https://v2/');

      const patched = await call(emu, 'PATCH', path, {
        body: { properties: { description: 'ok' } },
        headers: { 'If-Match': current },
      });
      expect(patched.status).toBe(200);
    });

    test('PUT with If-Match on a missing backend fails the precondition', async () => {
      const reply = await call(emu, 'PUT', path, { body: { properties: single() }, headers: { 'If-Match': '*' } });
      expect(reply.status).toBe(412);
      expect(emu.getBackend(`${SERVICE}/backends/b1`)).toBeUndefined();
    });

    test('PATCH without If-Match is refused with 400 and not applied', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, single());
      const reply = await call(emu, 'PATCH', path, { body: { properties: { description: 'x' } } });
      expect(reply.status).toBe(400);
      expect(asError(reply).message).toMatch(/If-Match/);
      expect(emu.getBackend(`${SERVICE}/backends/b1`)!.properties['description']).toBeUndefined();
    });

    test('PATCH of a missing backend is 404', async () => {
      const reply = await call(emu, 'PATCH', path, { body: { properties: {} }, headers: { 'If-Match': '*' } });
      expect(reply.status).toBe(404);
    });

    test('PATCH is a merge patch: objects merge, arrays replace, null removes', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, {
        ...single(),
        description: 'gone soon',
        tls: { validateCertificateChain: true, validateCertificateName: true },
        credentials: { header: { a: ['1', '2'] } },
      });
      const reply = await call(emu, 'PATCH', path, {
        body: {
          properties: {
            description: null,
            tls: { validateCertificateName: false },
            credentials: { header: { a: ['3'] } },
          },
        },
        headers: { 'If-Match': '*' },
      });
      expect(reply.status).toBe(200);
      expect(asContract(reply).properties).toEqual({
        title: null,
        ...single(),
        tls: { validateCertificateChain: true, validateCertificateName: false },
        credentials: { header: { a: ['3'] } },
      });
    });
  });

  describe('as recorded from real ARM (../shared/reference/recordings)', () => {
    const b1 = `${SERVICE}/backends/b1?${V}`;

    test('every answer reports the remaining budget of its kind and the global one', async () => {
      const put = await call(emu, 'PUT', b1, { body: { properties: single() } });
      const get = await call(emu, 'GET', b1);
      const head = await call(emu, 'HEAD', b1);
      const missing = await call(emu, 'GET', `${SERVICE}/backends/none?${V}`);
      const del = await call(emu, 'DELETE', b1, { headers: { 'If-Match': '*' } });
      for (const [reply, kind] of [
        [put, 'writes'],
        [get, 'reads'],
        [head, 'reads'],
        [missing, 'reads'],
        [del, 'deletes'],
      ] as const) {
        expect(reply.headers[`x-ms-ratelimit-remaining-subscription-${kind}`]).toMatch(/^\d+$/);
        expect(reply.headers[`x-ms-ratelimit-remaining-subscription-global-${kind}`]).toMatch(/^\d+$/);
      }
    });

    test('a validation failure has the generic message even for one detail, targets relative to properties', async () => {
      const reply = await call(emu, 'PUT', b1, { body: { properties: { protocol: 'http' } } });
      expect(reply.status).toBe(400);
      expect(asError(reply)).toMatchObject({
        code: 'ValidationError',
        message: 'One or more fields contain incorrect values:',
        details: [{ code: 'ValidationError', target: 'url', message: "'url' should not be empty." }],
      });
    });

    test('a backend without a title answers title: null', async () => {
      await call(emu, 'PUT', b1, { body: { properties: single() } });
      expect(asContract(await call(emu, 'GET', b1)).properties['title']).toBeNull();
    });

    test('a Service Fabric backend gains the server-computed clientCertificateThumbprint', async () => {
      const cluster = {
        managementEndpoints: ['https://cluster/'],
        clientCertificateId: `${SERVICE}/certificates/cert1`,
        maxPartitionResolutionRetries: 5,
      };
      const properties = { url: 'fabric:/app/svc', protocol: 'http', properties: { serviceFabricCluster: cluster } };
      const reply = await call(emu, 'PUT', b1, { body: { properties } });
      const fabric = (asContract(reply).properties['properties'] as any).serviceFabricCluster;
      expect(fabric.clientCertificateThumbprint).toMatch(/^[0-9A-F]{40}$/);
    });

    test('an injected error also reports the remaining budget', async () => {
      emu.injectFault({ method: 'GET', status: 422 });
      const reply = await call(emu, 'GET', b1);
      expect(reply.status).toBe(422);
      expect(asError(reply).code).toBe('Timeout');
      expect(reply.headers['x-ms-ratelimit-remaining-subscription-reads']).toMatch(/^\d+$/);
      expect(reply.headers['x-ms-ratelimit-remaining-subscription-global-reads']).toMatch(/^\d+$/);
    });

    test('fault `apply`: the write is applied, then answered 422 Timeout', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, single());
      emu.injectFault({ method: 'PATCH', status: 422, apply: true });
      const reply = await call(emu, 'PATCH', b1, {
        body: { properties: { description: 'applied anyway' } },
        headers: { 'If-Match': '*' },
      });
      expect(reply.status).toBe(422);
      expect(asError(reply).code).toBe('Timeout');
      expect(asError(reply).message).toMatch(/timed out for the service/);
      expect(reply.headers['x-ms-ratelimit-remaining-subscription-writes']).toMatch(/^\d+$/);
      expect(emu.getBackend(`${SERVICE}/backends/b1`)!.properties['description']).toBe('applied anyway');
    });
  });

  describe('validation as ARM does it', () => {
    const put = (id: string, properties: unknown) =>
      call(emu, 'PUT', `${SERVICE}/backends/${id}?${V}`, { body: { properties } });

    test.each([
      ['a single backend without url', { protocol: 'http' }, "'url' should not be empty."],
      [
        'a pool with a url',
        { type: 'Pool', url: 'https://x/', pool: { services: [] } },
        'Url is not supported for backend pool.',
      ],
      ['a pool with a protocol', { type: 'Pool', protocol: 'http' }, 'Protocol is not supported for backend pool.'],
      [
        'a pool whose member does not exist',
        { type: 'Pool', pool: { services: [{ id: `${SERVICE}/backends/ghost` }] } },
        `Backend Entity '${SERVICE}/backends/ghost' not found.`,
      ],
    ])('%s is a 400 ValidationError', async (_what, properties, message) => {
      const reply = await put('bad', properties);
      expect(reply.status).toBe(400);
      expect(asError(reply).code).toBe('ValidationError');
      expect(asError(reply).details!.map((d: { message: string }) => d.message)).toContain(message);
      expect(emu.getBackend(`${SERVICE}/backends/bad`)).toBeUndefined();
    });

    test('a pool may not contain a pool', async () => {
      emu.putBackend(`${SERVICE}/backends/m1`, single());
      emu.putBackend(`${SERVICE}/backends/inner`, {
        type: 'Pool',
        pool: { services: [{ id: `${SERVICE}/backends/m1` }] },
      });
      const reply = await put('outer', { type: 'Pool', pool: { services: [{ id: `${SERVICE}/backends/inner` }] } });
      expect(reply.status).toBe(400);
    });

    test('a pool with 31 members is refused, 30 accepted', async () => {
      const services = Array.from({ length: 31 }, (_, i) => {
        emu.putBackend(`${SERVICE}/backends/m${i}`, single());
        return { id: `${SERVICE}/backends/m${i}` };
      });
      expect((await put('p', { type: 'Pool', pool: { services } })).status).toBe(400);
      expect((await put('p', { type: 'Pool', pool: { services: services.slice(0, 30) } })).status).toBe(201);
    });

    test('a PATCH that would make the backend invalid is refused', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, single());
      const reply = await call(emu, 'PATCH', `${SERVICE}/backends/b1?${V}`, {
        body: { properties: { url: null } },
        headers: { 'If-Match': '*' },
      });
      expect(reply.status).toBe(400);
      expect(emu.getBackend(`${SERVICE}/backends/b1`)!.properties['url']).toBe('https://backend.example.com/');
    });

    test('a body that is not JSON is a 400 and stores nothing', async () => {
      const reply = await call(emu, 'PUT', `${SERVICE}/backends/b1?${V}`, { rawBody: '{"properties":' });
      expect(reply.status).toBe(400);
      expect(asError(reply).code).toBe('InvalidRequestContent');
      expect(emu.getBackend(`${SERVICE}/backends/b1`)).toBeUndefined();
    });

    test('reconnect validates `after` and needs the backend', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, single());
      const bad = await call(emu, 'POST', `${SERVICE}/backends/b1/reconnect?${V}`, {
        body: { properties: { after: '3 seconds' } },
      });
      expect(bad.status).toBe(400);
      const missing = await call(emu, 'POST', `${SERVICE}/backends/ghost/reconnect?${V}`);
      expect(missing.status).toBe(404);
      emu.putBackend(`${WORKSPACE}/backends/b1`, single());
      const workspace = await call(emu, 'POST', `${WORKSPACE}/backends/b1/reconnect?${V}`);
      expect(workspace.status).toBe(404);
    });

    test('a subscription id that is not a UUID is refused', async () => {
      const reply = await call(
        emu,
        'GET',
        `/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/s/backends?${V}`,
      );
      expect(reply.status).toBe(400);
      expect(asError(reply).code).toBe('InvalidSubscriptionId');
    });
  });

  describe('request handling', () => {
    test('401 AuthenticationFailed without a token or with a wrong one', async () => {
      for (const token of [null, 'wrong']) {
        const reply = await call(emu, 'PUT', `${SERVICE}/backends/b1?${V}`, { body: { properties: single() }, token });
        expect(reply.status).toBe(401);
        expect(asError(reply).code).toBe('AuthenticationFailed');
      }
      expect(emu.getBackend(`${SERVICE}/backends/b1`)).toBeUndefined();
    });

    test('400 MissingApiVersionParameter without api-version', async () => {
      const reply = await call(emu, 'GET', `${SERVICE}/backends`);
      expect(reply.status).toBe(400);
      expect(asError(reply).code).toBe('MissingApiVersionParameter');
    });

    test('workspace backends need api-version 2023-09-01-preview or later', async () => {
      const old = await call(emu, 'GET', `${WORKSPACE}/backends?api-version=2022-08-01`);
      expect(old.status).toBe(400);
      const preview = await call(emu, 'GET', `${WORKSPACE}/backends?api-version=2023-09-01-preview`);
      expect(preview.status).toBe(200);
    });

    test('percent-decoded segments and case-insensitive keywords name the same backend', async () => {
      const created = await call(emu, 'PUT', `${SERVICE}/backends/my%20backend%2Bv2?${V}`, {
        body: { properties: single() },
      });
      expect(created.status).toBe(201);
      expect(asContract(created).name).toBe('my backend+v2');
      const upper = `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/RG1/PROVIDERS/microsoft.apimanagement/SERVICE/APIMSERVICE1/BACKENDS/MY%20BACKEND%2BV2?${V}`;
      const got = await call(emu, 'GET', upper);
      expect(got.status).toBe(200);
      expect(asContract(got).id).toBe(`${SERVICE}/backends/my backend+v2`);
    });

    test('request ids on every response; the correlation id is echoed', async () => {
      const reply = await call(emu, 'GET', `${SERVICE}/backends/none?${V}`, {
        headers: { 'x-ms-correlation-request-id': 'corr-123' },
      });
      expect(reply.headers['x-ms-correlation-request-id']).toBe('corr-123');
      expect(reply.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const unauth = await call(emu, 'GET', `${SERVICE}/backends?${V}`, { token: null });
      expect(unauth.headers['x-ms-request-id']).toBeDefined();
    });

    test('the request log records each request in arrival order', async () => {
      await call(emu, 'PUT', `${SERVICE}/backends/b1?${V}`, { body: { properties: single() } });
      await call(emu, 'PATCH', `${SERVICE}/backends/b1?${V}`, {
        body: { properties: { description: 'd' } },
        headers: { 'If-Match': '*' },
      });
      expect(emu.requests).toEqual([
        expect.objectContaining({
          method: 'PUT',
          path: `${SERVICE}/backends/b1`,
          apiVersion: '2024-05-01',
          status: 201,
          body: { properties: single() },
        }),
        expect.objectContaining({ method: 'PATCH', ifMatch: '*', status: 200 }),
      ]);
    });

    test('reset() forgets backends, faults and the log', async () => {
      emu.putBackend(`${SERVICE}/backends/b1`, single());
      emu.injectFault({ status: 500 });
      await call(emu, 'GET', `${SERVICE}/backends?${V}`);
      emu.reset();
      expect(emu.requests).toHaveLength(0);
      const reply = await call(emu, 'GET', `${SERVICE}/backends?${V}`);
      expect(reply.status).toBe(200);
      expect(asPage(reply).count).toBe(0);
    });
  });

  describe('faults', () => {
    const path = `${SERVICE}/backends/b1?${V}`;
    const id = `${SERVICE}/backends/b1`;

    test('status with Retry-After answers the error without applying, for `count` requests', async () => {
      emu.injectFault({
        method: 'PUT',
        path: '/backends/b1',
        status: 429,
        retryAfter: '2',
        retryAfterMs: 1500,
        count: 2,
      });
      for (let i = 0; i < 2; i++) {
        const reply = await call(emu, 'PUT', path, { body: { properties: single() } });
        expect(reply.status).toBe(429);
        expect(reply.headers['retry-after']).toBe('2');
        expect(reply.headers['retry-after-ms']).toBe('1500');
        expect(asError(reply).code).toBe('TooManyRequests');
        expect(emu.getBackend(id)).toBeUndefined();
      }
      const third = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(third.status).toBe(201);
      expect(emu.requests.map((r) => r.fault)).toEqual(['status 429', 'status 429', undefined]);
    });

    test('409 defaults to PessimisticConcurrencyConflict; method and path must match', async () => {
      emu.injectFault({ method: 'PUT', path: /\/backends\/b1$/, status: 409 });
      expect((await call(emu, 'GET', path)).status).toBe(404); // other method: not faulted
      const reply = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(reply.status).toBe(409);
      expect(asError(reply).code).toBe('PessimisticConcurrencyConflict');
    });

    test('delay waits, then handles normally', async () => {
      emu.injectFault({ delayMs: 300 });
      const started = Date.now();
      const reply = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(reply.status).toBe(201);
    });

    test('reset before drops the connection without applying', async () => {
      emu.injectFault({ method: 'PUT', reset: 'before' });
      await expect(call(emu, 'PUT', path, { body: { properties: single() } })).rejects.toThrow();
      expect(emu.getBackend(id)).toBeUndefined();
      expect(emu.requests[0]).toEqual(expect.objectContaining({ fault: 'reset before', status: 0 }));
    });

    test('reset after applies the operation, then drops the connection', async () => {
      emu.injectFault({ method: 'PUT', reset: 'after' });
      await expect(call(emu, 'PUT', path, { body: { properties: single() } })).rejects.toThrow();
      expect(emu.getBackend(id)?.properties).toEqual(single());
    });

    test('clearFaults() disarms pending faults', async () => {
      emu.injectFault({ status: 503, count: Infinity });
      expect((await call(emu, 'GET', path)).status).toBe(503);
      emu.clearFaults();
      expect((await call(emu, 'GET', path)).status).toBe(404);
    });
  });
});

describe('ARM emulator throttling', () => {
  test('an empty write bucket answers 429 with Retry-After; reads have their own budget', async () => {
    const emu = await startArmEmulator({
      throttle: { writes: { capacity: 2, refillPerSecond: 0.5 }, reads: { capacity: 100, refillPerSecond: 10 } },
    });
    try {
      const path = `${SERVICE}/backends/b1?${V}`;
      const first = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(first.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('1');
      expect((await call(emu, 'PUT', path, { body: { properties: single() } })).status).toBe(200);
      const refused = await call(emu, 'PUT', path, { body: { properties: single('https://v3/') } });
      expect(refused.status).toBe(429);
      expect(asError(refused).code).toBe('TooManyRequests');
      // 0.5 tokens/s: the next whole token is at most 2 seconds away.
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(2);
      expect(emu.getBackend(`${SERVICE}/backends/b1`)!.properties['url']).toBe('https://backend.example.com/');

      const read = await call(emu, 'GET', path);
      expect(read.status).toBe(200);
      expect(read.headers['x-ms-ratelimit-remaining-subscription-reads']).toBe('99');

      // Another subscription has its own bucket.
      const other = await call(emu, 'PUT', path.replace(SUB, '11111111-1111-1111-1111-111111111111'), {
        body: { properties: single() },
      });
      expect(other.status).toBe(201);
    } finally {
      await emu.stop();
    }
  });

  test('without a configured bucket nothing is refused, however fast the writes come (the headers still report)', async () => {
    const now = 1_000_000; // a frozen clock: the 800 reported writes never refill
    const emu = await startArmEmulator({ now: () => now });
    try {
      const path = `${SERVICE}/backends/b1?${V}`;
      let last = await call(emu, 'PUT', path, { body: { properties: single() } });
      for (let i = 0; i < 810; i++) last = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(last.status).toBe(200);
      expect(last.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('0');
    } finally {
      await emu.stop();
    }
  });

  test('a refused request waits out Retry-After and then succeeds', async () => {
    let now = 1_000_000;
    const emu = await startArmEmulator({ throttle: { writes: { capacity: 1, refillPerSecond: 1 } }, now: () => now });
    try {
      const path = `${SERVICE}/backends/b1?${V}`;
      expect((await call(emu, 'PUT', path, { body: { properties: single() } })).status).toBe(201);
      const refused = await call(emu, 'PUT', path, { body: { properties: single() } });
      expect(refused.headers['retry-after']).toBe('1');
      now += 1000;
      expect((await call(emu, 'PUT', path, { body: { properties: single() } })).status).toBe(200);
    } finally {
      await emu.stop();
    }
  });
});

describe('ARM emulator lifecycle', () => {
  test('reuses keep-alive connections and stop() closes promptly with idle sockets open', async () => {
    const emu = await startArmEmulator({ seed: [{ id: `${SERVICE}/backends/b1`, properties: single() }] });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      agent.on('free', (socket) => sockets.add(socket));
      for (let i = 0; i < 3; i++)
        expect((await call(emu, 'GET', `${SERVICE}/backends/b1?${V}`, { agent })).status).toBe(200);
      expect(sockets.size).toBe(1);
      expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);

      const started = Date.now();
      await emu.stop();
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(call(emu, 'GET', `${SERVICE}/backends/b1?${V}`)).rejects.toThrow();
    } finally {
      agent.destroy();
      await emu.stop();
    }
  });

  test('stop() does not wait for a delayed request', async () => {
    const emu = await startArmEmulator();
    emu.injectFault({ delayMs: 20_000 });
    const pending = call(emu, 'GET', `${SERVICE}/backends?${V}`);
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await emu.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
  });

  test('TLS is verified: a client that does not trust the CA is refused', async () => {
    const emu = await startArmEmulator();
    try {
      const untrusted = new Promise((resolve, reject) => {
        const req = request(`${emu.url}${SERVICE}/backends?${V}`, { agent: false }, resolve);
        req.on('error', reject);
        req.end();
      });
      await expect(untrusted).rejects.toThrow(/self[- ]signed|certificate/i);
      const viaLocalhost = await call(
        emu,
        'GET',
        `${emu.url.replace('127.0.0.1', 'localhost')}${SERVICE}/backends?${V}`,
      );
      expect(viaLocalhost.status).toBe(200);
    } finally {
      await emu.stop();
    }
  });
});
