import { startArmEmulator, type ArmEmulator } from '../../local/arm-emulator';
import type { ArmBackendClient } from '../../shared/app/arm-ports';
import { parseChangeRequest } from '../../shared/domain/contract/change-request';
import { applyChange, type EngineSettings } from '../../shared/app/apply-change';
import { REDACTED } from '../../shared/domain/redact';
import { silentLogger, type Logger } from '../../shared/app/logger-ports';
import { clientFor } from '../support/arm';
import { example, exampleTarget, loadExamples, type Example } from '../support/examples';
import { systemClock } from '../../shared/adapters/system-clock';

let emulator: ArmEmulator;
let arm: ArmBackendClient;
const settings: EngineSettings = { allowDelete: false, deadlineMs: 20000, skipUnchanged: false };

beforeAll(async () => {
  emulator = await startArmEmulator();
  arm = clientFor(emulator);
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

async function run(raw: unknown, overrides: Partial<EngineSettings> = {}, logger: Logger = silentLogger) {
  const parsed = parseChangeRequest(raw);
  if (!parsed.ok) throw new Error(`invalid request: ${JSON.stringify(parsed.error)}`);
  return applyChange(parsed.request, {
    arm,
    clock: systemClock,
    logger,
    settings: { ...settings, ...overrides },
  });
}

const SUB = '00000000-0000-0000-0000-000000000000';
const serviceId = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1`;

/** Pool members must exist before a pool that names them. */
function seedPoolMembers(e: Example): void {
  const services = ((e.parameters.parameters as any)?.properties?.pool?.services ?? []) as Array<{ id: string }>;
  for (const member of services) {
    emulator.putBackend(member.id, { url: 'https://member.example/', protocol: 'http' });
  }
}

/** The shape of a body: its keys, recursively (values differ between the sample and a live answer). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, shape(v)])
        .sort(([a], [b]) => (a as string).localeCompare(b as string)),
    );
  }
  return value === null ? null : typeof value;
}

const putExamples = loadExamples().filter((e) => e.file.startsWith('ApiManagementCreate'));

describe('official PUT examples round-trip through the engine, the real client and the emulator', () => {
  it.each(putExamples.map((e) => [e.file, e] as const))(
    '%s: 201 then 200, with the sample response shape',
    async (_file, e) => {
      seedPoolMembers(e);
      const request = { operation: 'createOrUpdate', target: exampleTarget(e), body: e.parameters.parameters };
      const first = await run(request);
      expect(first).toMatchObject({ status: 'succeeded', httpStatus: 201, created: true, attempts: 1 });
      expect(first.etag).toMatch(/^".+"$/);
      const expected = e.responses['201']!.body as any;
      const got = first.backend as any;
      expect(got.id).toBe(expected.id);
      expect(got.type).toBe(expected.type);
      expect(got.name).toBe(expected.name);
      // Real ARM also answers `title: null` when none was set (recorded); the samples leave it out.
      const keys = new Set([...Object.keys(expected.properties), 'title']);
      expect(Object.keys(got.properties).sort()).toEqual([...keys].sort());
      const second = await run(request);
      expect(second).toMatchObject({ status: 'succeeded', httpStatus: 200, created: false, attempts: 1 });
      expect(second.etag).not.toBe(first.etag);
      expect(shape((second.backend as any).properties.pool)).toEqual(shape(expected.properties.pool));
    },
  );
});

describe('the other official examples', () => {
  it('PATCH (ApiManagementUpdateBackend) merges and returns the whole backend', async () => {
    const e = example('ApiManagementUpdateBackend.json');
    emulator.putBackend(`${serviceId}/backends/${e.parameters.backendId}`, {
      url: 'https://old/',
      protocol: 'http',
      description: 'old',
    });
    const outcome = await run({
      operation: 'update',
      target: exampleTarget(e),
      ifMatch: '*',
      body: e.parameters.parameters,
    });
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 200, attempts: 1 });
    const props = (outcome.backend as any).properties;
    expect(props.description).toBe((e.parameters.parameters as any).properties.description);
    expect(props.url).toBe('https://old/');
    expect(props.tls).toEqual((e.parameters.parameters as any).properties.tls);
  });

  it('PATCH of a workspace backend (ApiManagementUpdateWorkspaceBackend)', async () => {
    const e = example('ApiManagementUpdateWorkspaceBackend.json');
    const t = exampleTarget(e);
    emulator.putBackend(`${serviceId}/workspaces/${t['workspaceId']}/backends/${t['backendId']}`, {
      url: 'https://old/',
      protocol: 'http',
    });
    const outcome = await run({ operation: 'update', target: t, body: e.parameters.parameters });
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 200 });
    expect((outcome.backend as any).type).toBe('Microsoft.ApiManagement/service/workspaces/backends');
  });

  it('reconnect with PT3S (ApiManagementBackendReconnect) answers 202', async () => {
    const e = example('ApiManagementBackendReconnect.json');
    emulator.putBackend(`${serviceId}/backends/${e.parameters.backendId}`, { url: 'https://b/', protocol: 'http' });
    const outcome = await run({ operation: 'reconnect', target: exampleTarget(e), body: e.parameters.parameters });
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 202, attempts: 1 });
    const post = emulator.requests.find((r) => r.method === 'POST');
    expect(post?.path).toMatch(/\/backends\/proxybackend\/reconnect$/);
    expect(post?.body).toEqual({ properties: { after: 'PT3S' } });
  });

  it.each(['ApiManagementHeadBackend.json', 'ApiManagementHeadWorkspaceBackend.json'])(
    'HEAD (%s) returns the ETag only',
    async (file) => {
      const e = example(file);
      const t = exampleTarget(e);
      const scope = t['workspaceId'] ? `${serviceId}/workspaces/${t['workspaceId']}` : serviceId;
      emulator.putBackend(`${scope}/backends/${t['backendId']}`, { url: 'https://b/', protocol: 'http' });
      const result = await arm.getEntityTag(t as any);
      expect(result.kind).toBe('ok');
      if (result.kind === 'ok') {
        expect(result.headers.etag).toMatch(/^".+"$/);
        expect(result.body).toBeUndefined();
      }
    },
  );

  it.each(['ApiManagementGetBackend.json', 'ApiManagementGetWorkspaceBackend.json'])(
    'GET (%s) returns the sample shape',
    async (file) => {
      const e = example(file);
      const sample = e.responses['200']!.body as any;
      emulator.putBackend(sample.id, sample.properties);
      const result = await arm.get(exampleTarget(e) as any);
      expect(result.kind).toBe('ok');
      if (result.kind === 'ok') {
        // A superset: real ARM adds `title: null` and server-computed fields (recorded) the samples leave out.
        expect(result.body).toMatchObject(sample);
        expect(result.headers.etag).toMatch(/^".+"$/);
      }
    },
  );

  it.each(['ApiManagementListBackends.json', 'ApiManagementListWorkspaceBackends.json'])(
    'list (%s) follows nextLink across pages',
    async (file) => {
      const e = example(file);
      const sample = e.responses['200']!.body as { value: Array<{ id: string; properties: Record<string, unknown> }> };
      for (const item of sample.value) emulator.putBackend(item.id, item.properties);
      for (let i = 0; i < 3; i++)
        emulator.putBackend(`${sample.value[0]!.id}-extra${i}`, { url: 'https://x/', protocol: 'http' });
      const t = exampleTarget(e);
      const scope = {
        subscriptionId: t['subscriptionId']!,
        resourceGroupName: t['resourceGroupName']!,
        serviceName: t['serviceName']!,
        workspaceId: t['workspaceId'],
      };
      const result = await arm.list(scope);
      expect(result.kind).toBe('ok');
      if (result.kind === 'ok') {
        expect(result.body.value).toHaveLength(sample.value.length + 3);
        expect(result.attempts).toBeGreaterThan(1); // more than one page
      }
    },
  );

  it.each(['ApiManagementDeleteBackend.json', 'ApiManagementDeleteWorkspaceBackend.json'])(
    'DELETE (%s) is refused by default and works with ALLOW_DELETE',
    async (file) => {
      const e = example(file);
      const t = exampleTarget(e);
      const scope = t['workspaceId'] ? `${serviceId}/workspaces/${t['workspaceId']}` : serviceId;
      emulator.putBackend(`${scope}/backends/${t['backendId']}`, { url: 'https://b/', protocol: 'http' });
      const refused = await run({ operation: 'delete', target: t, ifMatch: '*' });
      expect(refused).toMatchObject({ status: 'rejected', attempts: 0, error: { code: 'OperationNotAllowed' } });
      expect(emulator.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);
      const first = await run({ operation: 'delete', target: t, ifMatch: '*' }, { allowDelete: true });
      expect(first).toMatchObject({ status: 'succeeded', httpStatus: 200 });
      const again = await run({ operation: 'delete', target: t }, { allowDelete: true });
      expect(again).toMatchObject({ status: 'succeeded', httpStatus: 204 });
    },
  );
});

describe('engine behaviour', () => {
  const target = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'b1' };
  const id = `${serviceId}/backends/b1`;
  const body = { properties: { url: 'https://b1/', protocol: 'http', description: 'v1' } };

  it('dry run reads, plans and writes nothing', async () => {
    emulator.putBackend(id, {
      url: 'https://b1/',
      protocol: 'http',
      description: 'v0',
      proxy: { url: 'http://p/', password: 'pl4nted-pw' },
    });
    const outcome = await run({ operation: 'createOrUpdate', target, body, dryRun: true });
    expect(outcome).toMatchObject({ status: 'succeeded', dryRun: true, attempts: 0 });
    expect(outcome.plan?.changes).toContainEqual({ path: 'properties.description', from: 'v0', to: 'v1' });
    expect(outcome.plan?.changes.map((c) => c.path)).toContain('properties.proxy');
    expect(JSON.stringify(outcome)).not.toContain('pl4nted-pw');
    expect((outcome.plan?.current as any).properties.proxy.password).toBe(REDACTED);
    expect(emulator.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
  });

  it('dry run of a missing backend plans its creation', async () => {
    const outcome = await run({ operation: 'createOrUpdate', target, body, dryRun: true });
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 404, plan: { current: null } });
    expect(outcome.plan?.changes).toHaveLength(3);
  });

  it('skips a write that would change nothing when SKIP_UNCHANGED is on', async () => {
    await run({ operation: 'createOrUpdate', target, body });
    const writesBefore = emulator.requests.filter((r) => r.method === 'PUT').length;
    const outcome = await run({ operation: 'createOrUpdate', target, body }, { skipUnchanged: true });
    expect(outcome).toMatchObject({ status: 'succeeded', unchanged: true, attempts: 0, reads: 1 });
    expect(emulator.requests.filter((r) => r.method === 'PUT').length).toBe(writesBefore);
    const changed = await run(
      { operation: 'createOrUpdate', target, body: { properties: { ...body.properties, description: 'v2' } } },
      { skipUnchanged: true },
    );
    expect(changed).toMatchObject({ status: 'succeeded', httpStatus: 200, attempts: 1 });
  });

  it('does not skip when an explicit ETag no longer matches: the caller asked for a 412', async () => {
    await run({ operation: 'createOrUpdate', target, body });
    const outcome = await run({ operation: 'update', target, body, ifMatch: '"stale"' }, { skipUnchanged: true });
    expect(outcome).toMatchObject({ status: 'failed', httpStatus: 412, error: { code: 'PreconditionFailed' } });
  });

  it('rides out a 429 with Retry-After mid-request, reports both attempts and logs the retry', async () => {
    emulator.injectFault({ method: 'PUT', status: 429, retryAfter: '1', count: 1 });
    const warnings: string[] = [];
    const log: Logger = {
      ...silentLogger,
      warn: (message, props) => warnings.push(`${message} ${JSON.stringify(props)}`),
    };
    const started = Date.now();
    const secretBody = { properties: { ...body.properties, credentials: { query: { code: ['pl4nted-q'] } } } };
    const outcome = await run({ operation: 'createOrUpdate', target, body: secretBody }, {}, log);
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 201, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    // The engine hands its (the invocation's) logger to the ARM client: the retry shows in that log, no secret in it.
    expect(warnings).toEqual([expect.stringMatching(/^Retrying ARM request .*"status":429/)]);
    expect(warnings.join()).not.toContain('pl4nted');
  });

  it('passes ARM refusals through as failed with ARM’s own error', async () => {
    const outcome = await run({
      operation: 'createOrUpdate',
      target,
      body: { properties: { type: 'Pool', pool: { services: [{ id: `${serviceId}/backends/missing` }] } } },
    });
    expect(outcome).toMatchObject({ status: 'failed', httpStatus: 400, attempts: 1 });
    expect(JSON.stringify(outcome.error)).toContain('not found');
  });

  it('reports a transient failure with its code when ARM stays unavailable past the deadline', async () => {
    emulator.injectFault({ method: 'PUT', status: 503, retryAfter: '1', count: Infinity });
    const outcome = await run({ operation: 'createOrUpdate', target, body }, { deadlineMs: 2500 });
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'UpstreamUnavailable' } });
    expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    expect(outcome.durationMs).toBeLessThan(4000);
    emulator.clearFaults();
  });

  it('never puts a secret into an outcome', async () => {
    const secret = {
      url: 'https://b1/',
      protocol: 'http',
      credentials: {
        authorization: { scheme: 'Basic', parameter: 'pl4nted-auth' },
        header: { k: ['pl4nted-hdr'] },
        query: { q: ['pl4nted-q'] },
      },
      proxy: { url: 'http://p/', password: 'pl4nted-pw' },
    };
    const outcome = await run({ operation: 'createOrUpdate', target, body: { properties: secret } });
    expect(outcome.status).toBe('succeeded');
    expect(JSON.stringify(outcome)).not.toMatch(/pl4nted/);
    expect(emulator.getBackend(id)?.properties).toMatchObject({ proxy: { password: 'pl4nted-pw' } });
  });
});

describe('reads per change', () => {
  it('an update with SKIP_UNCHANGED reuses the ETag of its state read: GET then PATCH, no HEAD', async () => {
    const id = `${serviceId}/backends/reads-1`;
    emulator.putBackend(id, { url: 'https://r/', protocol: 'http', description: 'old' });
    const target = { subscriptionId: SUB, resourceGroupName: 'rg1', serviceName: 'apimService1', backendId: 'reads-1' };
    const outcome = await run(
      { operation: 'update', target, body: { properties: { description: 'new' } } },
      { skipUnchanged: true },
    );
    expect(outcome).toMatchObject({ status: 'succeeded', httpStatus: 200, attempts: 1, reads: 1 });
    expect(emulator.requests.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    expect(emulator.requests[1]!.ifMatch).toBe(outcome.etagBefore);
  });
});
